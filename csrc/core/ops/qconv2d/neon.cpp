// int8 conv, NEON path (ARMv8-A baseline ASIMD, e.g. Cortex-A72 / Raspberry
// Pi 4): signed int8 buffer (x_q itself, border 0, no offset correction),
// widening multiplies: SMULL/SMULL2 form the s8 x s8 products of 4 output
// channels x 4 consecutive k in int16 (|x_q w_q| <= 127 * 127 < 2^15, no
// saturation), SADALP adds each adjacent pair into int32 accumulators (two
// per 4 channels), and ADDP folds the pairs at the end: an exact int32 sum.
// 3 pixels x 16 output channels per pass (24 accumulators), four passes per
// block of 64. Also the NEON quantizer (both aarch64 variants use it).
// Built with -march=armv8-a (file name, CMakeLists.txt).
#include "ops/qconv2d/qconv2d_kernels.hpp"

#include <arm_neon.h>

namespace dirnet {
namespace qconv2d_neon_isa {

#include "ops/shared/simd_portable.hpp"
#include "ops/qconv2d/quantize_impl.hpp"

using QElem = int8_t;
using QWElem = int8_t;
constexpr int QTILE = 3;
constexpr int kPasses = 4, kPassW = 64;  // see driver_impl.hpp

// S8 layout: group row of 256 bytes = [64 oc][4]; pass `sub` reads bytes [64 sub, 64 sub + 64).
template <int M>
static inline void qpass(const int8_t* const* base, const int64_t* tap_off, int ntaps, int G, const int8_t* wb,
                         const int32_t* corr, int32_t* out) {
  int32x4_t acc[M][8];
  for (int j = 0; j < M; ++j)
    for (int r = 0; r < 8; ++r) acc[j][r] = vdupq_n_s32(0);
  for (int t = 0; t < ntaps; ++t) {
    const int8_t* ptr[M];
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int g = 0; g < G; ++g) {
      int8x16_t w[4];
      for (int r = 0; r < 4; ++r) w[r] = vld1q_s8(wb + 16 * r);
      wb += 256;
      for (int j = 0; j < M; ++j) {
        int32_t v;
        __builtin_memcpy(&v, ptr[j] + 4 * g, 4);
        const int8x16_t a = vreinterpretq_s8_s32(vdupq_n_s32(v));  // the 4 x_q, four times
        for (int r = 0; r < 4; ++r) {
          acc[j][2 * r] = vpadalq_s16(acc[j][2 * r], vmull_s8(vget_low_s8(w[r]), vget_low_s8(a)));
          acc[j][2 * r + 1] = vpadalq_s16(acc[j][2 * r + 1], vmull_high_s8(w[r], a));
        }
      }
    }
  }
  for (int j = 0; j < M; ++j)
    for (int r = 0; r < 4; ++r) {  // (oc 4r: k01, k23, oc 4r+1: k01, k23) | (oc 4r+2, 4r+3) -> 4 sums
      const int32x4_t s = vpaddq_s32(acc[j][2 * r], acc[j][2 * r + 1]);
      vst1q_s32(out + j * 64 + 4 * r, vaddq_s32(s, vld1q_s32(corr + 4 * r)));
    }
}

#include "ops/qconv2d/driver_impl.hpp"

}  // namespace qconv2d_neon_isa

int64_t qconv2d_neon_items(const QConvParams& p) { return qconv2d_tiles(p, qconv2d_neon_isa::QTILE); }

// x_q as int8: FMAXNM / FMINNM clamp (a NaN operand yields the number: NaN ->
// -127, as MAXPS on x86), FCVTNS rounds to nearest, ties to even, whatever FPCR says.
void qconv2d_neon_quantize(const QConvParams& p, int64_t begin, int64_t end) {
  const int64_t len = int64_t(p.in.W) * p.C;
  const float32x4_t r = vdupq_n_f32(p.inv_scale), lo = vdupq_n_f32(-127.f), hi = vdupq_n_f32(127.f);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / p.in.H, y = row % p.in.H;
    const float* s = p.in.data + n * p.in.ns + y * p.in.rs;
    int8_t* d = static_cast<int8_t*>(p.q) + n * p.qns + y * p.qrs;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
      int32x4_t q[2];
      for (int h = 0; h < 2; ++h) {
        float32x4_t v = vmulq_f32(vld1q_f32(s + i + 4 * h), r);
        v = vminnmq_f32(vmaxnmq_f32(v, lo), hi);
        q[h] = vcvtnq_s32_f32(v);
      }
      const int16x8_t q16 = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
      vst1_s8(d + i, vmovn_s16(q16));
    }
    for (; i < len; ++i) d[i] = int8_t(qconv2d_neon_isa::quantize_one(s[i], p.inv_scale));
  }
}

void qconv2d_neon(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_neon_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
