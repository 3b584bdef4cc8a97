// Unary activations, NEON path (4 lanes, FMLA; also the neon_dot path's): the
// vector kernels and exp of exp_impl.hpp over a 4-lane wrapper, so a value
// comes out as on the avx2 / avx512 paths (same operations, same order).
// Built with -march=armv8-a (see CMakeLists.txt).
#include <arm_neon.h>

#include "ops/unary/unary_kernels.hpp"

namespace dirnet {
namespace unary_neon_isa {

struct V {
  using T = float32x4_t;
  static constexpr int kLanes = 4;
  static T load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, T v) { vst1q_f32(p, v); }
  static T set1(float v) { return vdupq_n_f32(v); }
  static T add(T a, T b) { return vaddq_f32(a, b); }
  static T sub(T a, T b) { return vsubq_f32(a, b); }
  static T mul(T a, T b) { return vmulq_f32(a, b); }
  static T div(T a, T b) { return vdivq_f32(a, b); }
  static T fma(T a, T b, T c) { return vfmaq_f32(c, a, b); }
  static T fnma(T a, T b, T c) { return vfmsq_f32(c, a, b); }  // c - a * b, one rounding
  // the x86 rule: b when either is NaN (FMIN/FMAX would return the NaN)
  static T min(T a, T b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static T max(T a, T b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static T round(T a) { return vrndnq_f32(a); }  // to nearest, ties to even
  static T floor(T a) { return vrndmq_f32(a); }
  static T pow2i(T k) {  // k integral: the conversion is exact
    const int32x4_t e = vaddq_s32(vcvtq_s32_f32(k), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
  }
};

#include "ops/unary/exp_impl.hpp"

}  // namespace unary_neon_isa

void unary_neon(const UnaryParams& p, int64_t begin, int64_t end) {
  unary_for_rows(p, begin, end, [&](const float* in, float* out, int64_t count) {
    unary_neon_isa::unary_row<unary_neon_isa::V>(p.kind, in, out, count);
  });
}

}  // namespace dirnet
