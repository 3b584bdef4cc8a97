// File ops `qconv2d` (an int8 Conv2d, groups = 1) and `qlinear` (an int8
// Linear on (N, features)): what the planner knows of them. Both are
// conv-like (role CONV): the planner fuses BN / residual / activation / sign
// packing into their epilogue as for `conv2d`, folds the dequantization
// s_x * s_w[oc] into the epilogue's scale, and emits them with
// Plan::add_qconv. New op names (not a dtype of `conv2d`), so that a dirnet
// without int8 refuses the file instead of misreading it.
//
// Tensors: weight int8 [OC, C, kh, kw] (qlinear: [OC, C]) in [-127, 127];
// weight_scale fp32 [OC] (finite, > 0); input_scale fp32 [1] (finite, > 0);
// optional bias fp32 [OC].
#include <cmath>
#include <cstring>

#include "ops/qconv2d/qconv2d_kernels.hpp"
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_quant(const ParseCtx& ctx, Node& n, const std::vector<int64_t>& wshape) {
  const int64_t K = int64_t(n.geom.in_channels) * n.KH * n.KW;
  if (K > kQMaxK)
    throw bad(n.name, "in_channels * kernel size is " + std::to_string(K) + ", more than the int8 limit " +
                          std::to_string(kQMaxK));
  const TensorRef* w = ctx.get(n, "weight", {DType::I8}, wshape);
  n.wq.resize(size_t(w->numel()));
  if (w->bytes != n.wq.size()) throw bad(n.name, "weight holds the wrong number of bytes");
  if (!n.wq.empty()) std::memcpy(n.wq.data(), w->data, n.wq.size());
  for (int8_t v : n.wq)
    if (v == -128) throw bad(n.name, "int8 weight -128 (weights are in [-127, 127])");
  ctx.vec(n, "weight_scale", n.OC);
  const std::vector<float>& sw = *n.find("weight_scale");
  for (float s : sw)
    if (!(std::isfinite(s) && s > 0.f)) throw bad(n.name, "weight_scale must be finite and positive");
  const TensorRef* si = ctx.get(n, "input_scale", {DType::F32}, {1});
  float sx;
  std::memcpy(&sx, si->data, 4);
  if (!(std::isfinite(sx) && sx > 0.f && std::isfinite(1.f / sx)))
    throw bad(n.name, "input_scale must be finite and positive");
  n.in_scale = sx;
  n.qscale.resize(size_t(n.OC));
  for (int i = 0; i < n.OC; ++i) n.qscale[size_t(i)] = double(sx) * double(sw[size_t(i)]);  // exact in fp64
  ctx.vec(n, "bias", n.OC, false);
}

void parse_qconv2d(const ParseCtx& ctx, Node& n) {
  parse_conv_attrs(n);
  parse_quant(ctx, n, {n.OC, n.geom.in_channels, n.KH, n.KW});
}

void parse_qlinear(const ParseCtx& ctx, Node& n) {
  n.geom = ConvGeometry();
  n.geom.in_channels = int(get_int(n, "in_features", 1, kMaxCh * 64));
  n.OC = int(get_int(n, "out_features", 1, kMaxCh));
  n.KH = n.KW = 1;
  parse_quant(ctx, n, {n.OC, n.geom.in_channels});
}

}  // namespace

const OpHandler kQconv2dOp = {
    "qconv2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::CONV, /*binary=*/false, ACT_NONE,
    parse_qconv2d, nullptr};

const OpHandler kQlinearOp = {
    "qlinear", /*inputs=*/1, /*in_rank=*/2, /*out_rank=*/2, Role::CONV, /*binary=*/false, ACT_NONE,
    parse_qlinear, nullptr};

}  // namespace dirnet
