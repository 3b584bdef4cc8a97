// int8 conv, reference path: plain loops from the definition, for the tests
// and DIRNET_KERNEL=reference. Quantizes each input value on the fly from the
// float input (taps outside the image are x_q = 0), multiplies by the
// unpacked weights [OC][KH][KW][C] and applies the float epilogue: no
// quantized buffer, no packed weights, no +128 offset. One work item is one
// output pixel (all its channels).
#include <vector>

#include "ops/qconv2d/qconv2d_kernels.hpp"
#include "ops/shared/reference_epilogue.hpp"

namespace dirnet {
namespace {

#include "ops/qconv2d/quantize_impl.hpp"

int32_t accumulate(const QConvParams& p, int64_t n, int oy, int ox, int oc) {
  int32_t acc = 0;
  for (int ky = 0; ky < p.KH; ++ky)
    for (int kx = 0; kx < p.KW; ++kx) {
      const int iy = oy * p.sh - p.pt + ky * p.dh, ix = ox * p.sw - p.pl + kx * p.dw;
      if (iy < 0 || iy >= p.in.H || ix < 0 || ix >= p.in.W) continue;
      const float* px = p.in.data + n * p.in.ns + iy * p.in.rs + ix * p.in.ps;
      const int8_t* w = p.wref + ((int64_t(oc) * p.KH + ky) * p.KW + kx) * p.C;
      for (int c = 0; c < p.C; ++c) acc += quantize_one(px[c], p.inv_scale) * int32_t(w[c]);
    }
  return acc;
}

}  // namespace

int64_t qconv2d_reference_items(const QConvParams& p) { return int64_t(p.in.N) * p.OH * p.OW; }

void qconv2d_reference(const QConvParams& p, int64_t begin, int64_t end) {
  std::vector<bool> neg(size_t(p.OC));
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / (int64_t(p.OH) * p.OW);
    const int y = int(i / p.OW % p.OH), x = int(i % p.OW);
    for (int oc = 0; oc < p.OC; ++oc)
      neg[size_t(oc)] = ref::float_epilogue(p.ep, n, y, x, oc, float(accumulate(p, n, y, x, oc)));
    if (p.ep.out_b.data) ref::store_bits(p.ep.out_b, n, y, x, neg);
  }
}

}  // namespace dirnet
