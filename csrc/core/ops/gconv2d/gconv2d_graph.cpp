// File op `gconv2d` (torch Conv2d with groups > 1, full precision): the
// attributes of conv2d plus `groups`, weight [OC][IC / groups][KH][KW] in fp16
// or fp32, optional fp32 bias. Emitted as a Gconv2dOp (PlanOp), with a
// following BN (affine) and relu/hardtanh in its epilogue when the planner's
// fuse_tails pass finds them (MobileNet's dw -> BN -> act).
#include <memory>

#include "ops/gconv2d/gconv2d_op.hpp"
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

int parse_groups(const Node& n) {
  const int ic = n.geom.in_channels;
  const int groups = int(get_int(n, "groups", 1, ic));
  if (ic % groups || n.OC % groups)
    throw bad(n.name, "in_channels (" + std::to_string(ic) + ") and out_channels (" + std::to_string(n.OC) +
                          ") must be multiples of groups (" + std::to_string(groups) + ")");
  return groups;
}

void parse_gconv2d(const ParseCtx& ctx, Node& n) {
  parse_conv_attrs(n);
  const int groups = parse_groups(n);
  const TensorRef* w =
      ctx.get(n, "weight", {DType::F16, DType::F32}, {n.OC, n.geom.in_channels / groups, n.KH, n.KW});
  n.wf = to_f32(*w, n.name + ".weight");
  ctx.vec(n, "bias", n.OC, false);
}

// `ep` already holds the bias (the planner folds it behind a fused BN scale).
void emit_fused(Plan& plan, const Node& n, const std::vector<int>& ins, int out, const FusedEpilogue& fe) {
  GConvGeometry g;
  g.C = n.geom.in_channels;
  g.OC = n.OC;
  g.G = parse_groups(n);
  g.KH = n.KH;
  g.KW = n.KW;
  for (int i = 0; i < 2; ++i) g.stride[i] = n.geom.stride[i], g.dil[i] = n.geom.dil[i];
  for (int i = 0; i < 4; ++i) g.pads[i] = n.geom.pads[i];
  GConvEpilogue ep;
  ep.A = fe.A;
  ep.B = fe.B;
  ep.act = fe.act;
  ep.lo = fe.lo;
  ep.hi = fe.hi;
  plan.add_op(n.name, std::make_shared<Gconv2dOp>(g, n.wf.data(), ep), ins, out);
}

void emit_gconv2d(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  FusedEpilogue ep;
  if (const std::vector<float>* b = n.find("bias")) ep.B = *b;
  emit_fused(plan, n, ins, out, ep);
}

}  // namespace

const OpHandler kGconv2dOp = {
    "gconv2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, /*binary=*/false, ACT_NONE,
    parse_gconv2d, emit_gconv2d, emit_fused};

}  // namespace dirnet
