// gconv2d, NEON (aarch64 ASIMD, FMLA; also the neon_dot path's): depthwise
// convolutions 4 channels per register (depthwise_impl.hpp); other groupings
// run the portable kernel. Built with -march=armv8-a (see CMakeLists.txt).
#include <arm_neon.h>

#define DIRNET_ISA_NS gconv_neon
#include "ops/gconv2d/depthwise_impl.hpp"

namespace dirnet {
namespace {

struct Vec128 {
  static constexpr int V = 4;
  using R = float32x4_t;
  using M = int;  // lanes in use (NEON has no masked loads: tails go through a copy)
  static M mask(int n) { return n; }
  static R zero() { return vdupq_n_f32(0.f); }
  static R load(const float* a) { return vld1q_f32(a); }
  static R loadm(const float* a, M n) {
    if (n == 4) return vld1q_f32(a);
    float t[4] = {0.f, 0.f, 0.f, 0.f};
    for (int i = 0; i < n; ++i) t[i] = a[i];
    return vld1q_f32(t);
  }
  static R fma(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  // a > b ? a : b and a < b ? a : b, as the x86 paths' max/min (NaN in a gives b)
  static R max(R a, R b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static R min(R a, R b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static R set1(float v) { return vdupq_n_f32(v); }
  static void storem(float* a, R v, M n) {
    if (n == 4) return vst1q_f32(a, v);
    float t[4];
    vst1q_f32(t, v);
    for (int i = 0; i < n; ++i) a[i] = t[i];
  }
};

}  // namespace

void gconv2d_neon(const GConvParams& p, int64_t begin, int64_t end) {
  if (p.icg == 1 && p.opg == 1)
    gconv_neon::depthwise_rows<Vec128>(p, begin, end);
  else
    gconv2d_portable(p, begin, end);
}

}  // namespace dirnet
