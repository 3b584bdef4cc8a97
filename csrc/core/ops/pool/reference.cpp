// Pooling row kernels: the one implementation of every path (see pool_kernels.hpp).
#include "ops/pool/pool_kernels.hpp"

#include <limits>

#include "ops/shared/clones.hpp"

namespace dirnet {

DIRNET_CLONES
void maxpool_row(float* __restrict o, const float* const* rows, int KH, int KW, int OW, int IW, int sw,
                 int pl, int dw, int C) {
  for (int ox = 0; ox < OW; ++ox) {
    float* __restrict po = o + int64_t(ox) * C;
    bool first = true;
    for (int ky = 0; ky < KH; ++ky) {
      const float* row = rows[ky];
      if (!row) continue;
      for (int kx = 0; kx < KW; ++kx) {
        const int ix = ox * sw - pl + kx * dw;
        if (ix < 0 || ix >= IW) continue;
        const float* __restrict p = row + int64_t(ix) * C;
        if (first) {
          for (int c = 0; c < C; ++c) po[c] = p[c];
          first = false;
        } else {
          for (int c = 0; c < C; ++c) po[c] = p[c] > po[c] ? p[c] : po[c];
        }
      }
    }
    if (first)
      for (int c = 0; c < C; ++c) po[c] = -std::numeric_limits<float>::infinity();
  }
}

DIRNET_CLONES
void mean_pixels(float* __restrict o, const float* const* src, int cnt, int C, float div) {
  for (int c = 0; c < C; ++c) o[c] = 0.f;
  for (int i = 0; i < cnt; ++i) {
    const float* __restrict p = src[i];
    for (int c = 0; c < C; ++c) o[c] = o[c] + p[c];
  }
  for (int c = 0; c < C; ++c) o[c] = o[c] / div;
}

}  // namespace dirnet
