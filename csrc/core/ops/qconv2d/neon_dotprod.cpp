// int8 conv, NEON dot-product path (ARMv8.2 SDOT, e.g. Cortex-A76 /
// Raspberry Pi 5): signed int8 buffer (x_q, border 0), SDOT adds 4 s8 x s8
// products per int32 lane: 16 MACs per instruction, exact. 6 pixels x 16
// output channels per pass (24 accumulators), four passes per block of 64.
// Built with -march=armv8.2-a+dotprod (file name, CMakeLists.txt); the
// quantizer is the NEON one (neon.cpp).
#include "ops/qconv2d/qconv2d_kernels.hpp"

#include <arm_neon.h>

namespace dirnet {
namespace qconv2d_neon_dotprod_isa {

#include "ops/shared/simd_portable.hpp"

using QElem = int8_t;
using QWElem = int8_t;
constexpr int QTILE = 6;
constexpr int kPasses = 4, kPassW = 64;  // see driver_impl.hpp

template <int M>
static inline void qpass(const int8_t* const* base, const int64_t* tap_off, int ntaps, int G, const int8_t* wb,
                         const int32_t* corr, int32_t* out) {
  int32x4_t acc[M][4];
  for (int r = 0; r < 4; ++r) {
    const int32x4_t c = vld1q_s32(corr + 4 * r);
    for (int j = 0; j < M; ++j) acc[j][r] = c;
  }
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
        const int8x16_t a = vreinterpretq_s8_s32(vdupq_n_s32(v));
        for (int r = 0; r < 4; ++r) acc[j][r] = vdotq_s32(acc[j][r], w[r], a);
      }
    }
  }
  for (int j = 0; j < M; ++j)
    for (int r = 0; r < 4; ++r) vst1q_s32(out + j * 64 + 4 * r, acc[j][r]);
}

#include "ops/qconv2d/driver_impl.hpp"

}  // namespace qconv2d_neon_dotprod_isa

int64_t qconv2d_neon_dotprod_items(const QConvParams& p) {
  return qconv2d_tiles(p, qconv2d_neon_dotprod_isa::QTILE);
}

void qconv2d_neon_dotprod(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_neon_dotprod_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
