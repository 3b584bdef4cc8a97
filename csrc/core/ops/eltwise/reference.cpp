// The eltwise row kernel: the one implementation of every path (see eltwise_kernels.hpp).
#include "ops/eltwise/eltwise_kernels.hpp"

#include <cmath>

#include "common.hpp"
#include "ops/shared/clones.hpp"

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

}  // namespace dirnet
