// File ops `linear` (torch Linear) and `blinear` (dirnet's BinaryLinear) on
// (N, features) values. Both are conv-like (role CONV): the planner emits them
// as a 1x1 convolution on a 1x1 image, with the epilogue fusion.
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

// in_features, out_features; a 1x1 conv geometry.
void parse_features(Node& n) {
  n.geom = ConvGeometry();
  n.geom.in_channels = int(get_int(n, "in_features", 1, kMaxCh * 64));
  n.OC = int(get_int(n, "out_features", 1, kMaxCh));
  n.KH = n.KW = 1;
}

void parse_linear(const ParseCtx& ctx, Node& n) {
  parse_features(n);
  const TensorRef* w = ctx.get(n, "weight", {DType::F16, DType::F32}, {n.OC, n.geom.in_channels});
  n.wf = to_f32(*w, n.name + ".weight");  // [OC][C] = [OC][C][1][1]
  ctx.vec(n, "bias", n.OC, false);
}

void parse_blinear(const ParseCtx& ctx, Node& n) {
  parse_features(n);
  const int fi = n.geom.in_channels;
  const TensorRef* w = ctx.get(n, "weight", {DType::U64}, {n.OC, (int64_t(fi) + 63) / 64});
  n.wb = to_u64(*w, n.name + ".weight");  // [OC][words] = [OC][1][1][words]
  ctx.vec(n, "scale", n.OC);
  ctx.vec(n, "bias", n.OC, false);
  ctx.vec(n, "in_threshold", fi, false);
}

}  // namespace

const OpHandler kLinearOp = {
    "linear", /*inputs=*/1, /*in_rank=*/2, /*out_rank=*/2, Role::CONV, /*binary=*/false, ACT_NONE,
    parse_linear, nullptr};

const OpHandler kBlinearOp = {
    "blinear", /*inputs=*/1, /*in_rank=*/2, /*out_rank=*/2, Role::CONV, /*binary=*/true, ACT_NONE,
    parse_blinear, nullptr};

}  // namespace dirnet
