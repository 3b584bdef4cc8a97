#include "planner/thresholds.hpp"

#include <cmath>

#include "common.hpp"

namespace dirnet {

namespace {

// The activation as the kernels' epilogue applies it (NaN stays NaN through
// hardtanh and PReLU; ReLU maps it to 0).
float activate(float z, int act, float lo, float hi, float slope) {
  switch (act) {
    case ACT_HARDTANH: {
      const float a = z < lo ? lo : z;
      return a > hi ? hi : a;
    }
    case ACT_RELU: return z > 0.f ? z : 0.f;
    case ACT_PRELU: return z >= 0.f ? z : z * slope;
    default: return z;
  }
}

// One channel: the bit for every dot in [-K, K] must be 1s then 0s (sgn +1)
// or 0s then 1s (sgn -1); false otherwise.
bool channel_threshold(float A, float B, int64_t K, int act, float lo, float hi, float t, float slope,
                       int32_t& T, int32_t& sgn) {
  const int64_t size = 2 * K + 1;
  int64_t ones = 0, first = -1, last = -1;
  for (int64_t i = 0; i < size; ++i) {
    const float d = float(i - K);  // exact: K < 2^24 under the planner's size guard
    const float z = activate(std::fma(A, d, B), act, lo, hi, slope);
    if (!(z >= t)) {  // bit 1 (-1); NaN too, like the kernels
      if (first < 0) first = i;
      last = i;
      ++ones;
    }
  }
  sgn = 1;
  if (ones == 0) {            // always +1
    T = int32_t(-K);
  } else if (ones == size) {  // always -1
    T = int32_t(K + 1);
  } else if (first == 0 && last == ones - 1) {          // 1s then 0s: dot < T
    T = int32_t(-K + ones);
  } else if (last == size - 1 && first == size - ones) {  // 0s then 1s: -dot < -(first dot - 1)
    sgn = -1;
    T = int32_t(-(-K + first - 1));
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool integer_thresholds(const float* A, const float* B, int OC, int64_t kbits, int act, float lo, float hi,
                        const float* thr, const float* slope, IntThresholds& out) {
  out.T.assign(size_t(OC), 0);
  out.sgn.assign(size_t(OC), 1);
  for (int c = 0; c < OC; ++c) {
    const float t = thr ? thr[c] : 0.f;
    const float s = slope ? slope[c] : 0.f;
    if (!channel_threshold(A[c], B[c], kbits, act, lo, hi, t, s, out.T[size_t(c)], out.sgn[size_t(c)])) return false;
  }
  return true;
}

}  // namespace dirnet
