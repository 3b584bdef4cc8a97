#include "kernels/rowops.hpp"

#include <cmath>
#include <limits>

#include "common.hpp"

#if defined(DIRNET_X86) && defined(__GNUC__) && !defined(__clang__) && !defined(DIRNET_NO_CLONES)
#define DIRNET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DIRNET_CLONES
#endif

namespace dirnet {

DIRNET_CLONES
void eltwise_row(float* __restrict o, const float* __restrict a, const float* __restrict b,
                 const float* __restrict A, const float* __restrict B, int W, int C, int act, float lo,
                 float hi, const float* __restrict slope, bool slope1) {
  const int64_t n = int64_t(W) * C;
  if (A) {
    for (int x = 0; x < W; ++x) {
      float* __restrict ox = o + int64_t(x) * C;
      const float* __restrict ax = a + int64_t(x) * C;
      for (int c = 0; c < C; ++c) ox[c] = std::fma(A[c], ax[c], B[c]);
    }
    if (b)
      for (int64_t i = 0; i < n; ++i) o[i] = o[i] + b[i];
  } else if (b) {
    for (int64_t i = 0; i < n; ++i) o[i] = a[i] + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = a[i];
  }
  switch (act) {
    case ACT_HARDTANH:
      for (int64_t i = 0; i < n; ++i) {
        const float t = o[i] < lo ? lo : o[i];
        o[i] = t > hi ? hi : t;
      }
      break;
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) o[i] = o[i] > 0.f ? o[i] : 0.f;
      break;
    case ACT_PRELU:
      if (slope1) {
        const float s = slope[0];
        for (int64_t i = 0; i < n; ++i) o[i] = o[i] >= 0.f ? o[i] : o[i] * s;
      } else {
        for (int x = 0; x < W; ++x) {
          float* __restrict ox = o + int64_t(x) * C;
          for (int c = 0; c < C; ++c) ox[c] = ox[c] >= 0.f ? ox[c] : ox[c] * slope[c];
        }
      }
      break;
    default:
      break;
  }
}

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
