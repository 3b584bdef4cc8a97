// File op `bconv2d` (dirnet's BinaryConv2d): packed weight signs, a scale per
// output channel, optional bias and input threshold (RSign). Emitted by the
// planner's epilogue fusion (role CONV, binary: it reads packed bits).
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_bconv2d(const ParseCtx& ctx, Node& n) {
  parse_conv_attrs(n);
  const int ic = n.geom.in_channels;
  // 0 or 1, as an integer or a float (not a boolean)
  const nlohmann::json* pv = nullptr;
  if (auto it = n.attrs->find("pad_value"); it != n.attrs->end()) pv = &*it;
  const bool number = pv && pv->is_number();
  const double v = number ? pv->get<double>() : -1.0;
  if (!number || (v != 0.0 && v != 1.0))
    throw bad(n.name, "pad_value must be 0 or 1, got " + (pv ? py_repr(*pv) : std::string("None")));
  n.geom.zero_pad = v == 0.0;
  const TensorRef* w = ctx.get(n, "weight", {DType::U64}, {n.OC, n.KH, n.KW, (ic + 63) / 64});
  n.wb = to_u64(*w, n.name + ".weight");
  ctx.vec(n, "scale", n.OC);
  ctx.vec(n, "bias", n.OC, false);
  ctx.vec(n, "in_threshold", ic, false);
}

}  // namespace

const OpHandler kBconv2dOp = {
    "bconv2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::CONV, /*binary=*/true, ACT_NONE,
    parse_bconv2d, nullptr};

}  // namespace dirnet
