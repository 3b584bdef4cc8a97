// File op `conv2d` (torch Conv2d, groups = 1): what the planner knows of it.
// Emitted by the planner's epilogue fusion (role CONV), never on its own.
#include "planner/op_handler.hpp"

namespace dirnet {

void parse_conv_attrs(Node& n) {
  n.geom.in_channels = int(get_int(n, "in_channels", 1, kMaxCh));
  n.OC = int(get_int(n, "out_channels", 1, kMaxCh));
  const std::vector<int> k = get_ints(n, "kernel", 2, 1, 64);
  n.KH = k[0];
  n.KW = k[1];
  const std::vector<int> s = get_ints(n, "stride", 2, 1, 64);
  const std::vector<int> p = get_ints(n, "padding", 4, 0, 64);
  const std::vector<int> d = get_ints(n, "dilation", 2, 1, 64);
  for (int i = 0; i < 2; ++i) n.geom.stride[i] = s[i], n.geom.dil[i] = d[i];
  for (int i = 0; i < 4; ++i) n.geom.pads[i] = p[i];
}

namespace {

void parse_conv2d(const ParseCtx& ctx, Node& n) {
  parse_conv_attrs(n);
  // full-precision weights: fp16 or fp32 (an fp16 file keeps its stem in fp32)
  const TensorRef* w = ctx.get(n, "weight", {DType::F16, DType::F32}, {n.OC, n.geom.in_channels, n.KH, n.KW});
  n.wf = to_f32(*w, n.name + ".weight");
  ctx.vec(n, "bias", n.OC, false);
}

}  // namespace

const OpHandler kConv2dOp = {
    "conv2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::CONV, /*binary=*/false, ACT_NONE,
    parse_conv2d, nullptr};

}  // namespace dirnet
