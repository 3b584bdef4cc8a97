// BatchNorm + activation + the next layer's sign, folded into integer thresholds.
//
// A binary conv's output channel is z = act(fma(A, dot, B)) (BN and the weight
// scale folded into A, B) and the next binary layer only needs the bit
// !(z >= thr). As dot is an integer in [-K, K], that bit is a threshold test
// on dot itself: bit = (sgn * dot < T). A negative A flips the direction
// (sgn = -1); A = 0 makes the bit constant. The thresholds come from
// evaluating the fp32 epilogue exactly as the kernels do (std::fma on float,
// one rounding) for every possible dot, so both paths give the same bits;
// when the bit is not monotone in dot (a PReLU with a negative slope, NaN
// parameters) there is no threshold and the caller keeps the float path.
#pragma once

#include <cstdint>
#include <vector>

namespace dirnet {

struct IntThresholds {
  std::vector<int32_t> T, sgn;
};

// A, B: OC values; thr: the next layer's sign threshold (n_thr values: OC, or
// one shared by every channel; nullptr: 0); slope: OC PReLU slopes or nullptr.
// False when some channel has no threshold.
bool integer_thresholds(const float* A, const float* B, int OC, int64_t kbits, int act, float lo, float hi,
                        const float* thr, const float* slope, IntThresholds& out);

}  // namespace dirnet
