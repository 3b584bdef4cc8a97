// fp32 conv, reference path: plain loops from the definition, for the tests
// and DIRNET_KERNEL=reference. Reads only the interior of the input (taps
// outside the image are 0) and the blocked weights [OCB][KH * KW * C][64].
// Accumulates in the order of the optimized paths (taps, then channels) with
// one rounding per multiply-add (fma), so the vector paths match it bit for
// bit. One work item is one output pixel (all its channels).
#include <cmath>
#include <vector>

#include "ops/conv2d/conv2d_kernels.hpp"
#include "ops/shared/reference_epilogue.hpp"

namespace dirnet {
namespace {

float weight(const ConvParams& p, int oc, int ky, int kx, int c) {
  const int64_t K = int64_t(p.KH) * p.KW * p.in.C;
  const int64_t k = (int64_t(ky) * p.KW + kx) * p.in.C + c;
  return p.w[(int64_t(oc / kFBlk) * K + k) * kFBlk + oc % kFBlk];
}

float accumulate(const ConvParams& p, int64_t n, int oy, int ox, int oc) {
  float acc = 0.f;
  for (int ky = 0; ky < p.KH; ++ky)
    for (int kx = 0; kx < p.KW; ++kx) {
      const int iy = oy * p.sh - p.pt + ky * p.dh, ix = ox * p.sw - p.pl + kx * p.dw;
      const bool inside = iy >= 0 && iy < p.in.H && ix >= 0 && ix < p.in.W;
      const float* px = inside ? p.in.data + n * p.in.ns + iy * p.in.rs + ix * p.in.ps : nullptr;
      for (int c = 0; c < p.in.C; ++c) acc = std::fma(inside ? px[c] : 0.f, weight(p, oc, ky, kx, c), acc);
    }
  return acc;
}

}  // namespace

int64_t conv2d_reference_items(const ConvParams& p) { return int64_t(p.in.N) * p.OH * p.OW; }

void conv2d_reference(const ConvParams& p, int64_t begin, int64_t end) {
  std::vector<bool> neg(size_t(p.OC));
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / (int64_t(p.OH) * p.OW);
    const int y = int(i / p.OW % p.OH), x = int(i % p.OW);
    for (int oc = 0; oc < p.OC; ++oc) neg[oc] = ref::float_epilogue(p.ep, n, y, x, oc, accumulate(p, n, y, x, oc));
    if (p.ep.out_b.data) ref::store_bits(p.ep.out_b, n, y, x, neg);
  }
}

}  // namespace dirnet
