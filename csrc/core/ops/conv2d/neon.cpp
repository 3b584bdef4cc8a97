// fp32 conv, neon path (also neon_dot's: no dot product in fp32): FMLA on M
// pixels x 16 output channels (four registers) of a 64-wide block. Each
// product is added with one rounding in the reference's order (taps, then
// input channels), so the path equals `reference` bit for bit. Four input
// channels of a pixel are loaded at once and used by lane (FMLA by element);
// a run's last 1-3 channels are broadcast one at a time. Built with
// -march=armv8-a (see CMakeLists.txt).
#include "ops/conv2d/conv2d_kernels.hpp"

#include <arm_neon.h>

namespace dirnet {
namespace conv2d_neon_isa {

#include "ops/shared/simd_neon.hpp"

// acc[j][r] = fma(x_j[c], w[c][4r..4r+3], acc[j][r]) for the run's channels c in order.
#define DIRNET_FMA_STEP(LANE)                                                        \
  {                                                                                  \
    const float32x4_t w0 = vld1q_f32(wb), w1 = vld1q_f32(wb + 4);                    \
    const float32x4_t w2 = vld1q_f32(wb + 8), w3 = vld1q_f32(wb + 12);               \
    wb += 64;                                                                        \
    _Pragma("GCC unroll 8") for (int j = 0; j < M; ++j) {                           \
      acc[j][0] = vfmaq_laneq_f32(acc[j][0], w0, x[j], LANE);                        \
      acc[j][1] = vfmaq_laneq_f32(acc[j][1], w1, x[j], LANE);                        \
      acc[j][2] = vfmaq_laneq_f32(acc[j][2], w2, x[j], LANE);                        \
      acc[j][3] = vfmaq_laneq_f32(acc[j][3], w3, x[j], LANE);                        \
    }                                                                                \
  }

template <int M>
static inline void conv_sub(const float* const* base, const int64_t* tap_off, int ntaps, int C,
                            const float* wb, float* out) {
  float32x4_t acc[M][4];
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = vdupq_n_f32(0.f);
  for (int t = 0; t < ntaps; ++t) {
    const float* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      float32x4_t x[M];
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) x[j] = vld1q_f32(ptr[j] + c);
      DIRNET_FMA_STEP(0)
      DIRNET_FMA_STEP(1)
      DIRNET_FMA_STEP(2)
      DIRNET_FMA_STEP(3)
    }
    for (; c < C; ++c) {
      float32x4_t x[M];
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) x[j] = vld1q_dup_f32(ptr[j] + c);
      DIRNET_FMA_STEP(0)
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) vst1q_f32(out + j * 64 + 4 * r, acc[j][r]);
}

#undef DIRNET_FMA_STEP

static inline void conv_tile_m(int m, const float* const* base, const int64_t* tap_off, int ntaps,
                               int C, const float* wb, float* out) {
  for (int sub = 0; sub < 4; ++sub) {
    const float* w = wb + sub * 16;
    float* o = out + sub * 16;
    switch (m) {
      case 6: conv_sub<6>(base, tap_off, ntaps, C, w, o); break;  // kTile 6 (spills)
      case 5: conv_sub<5>(base, tap_off, ntaps, C, w, o); break;
      case 4: conv_sub<4>(base, tap_off, ntaps, C, w, o); break;
      case 3: conv_sub<3>(base, tap_off, ntaps, C, w, o); break;
      case 2: conv_sub<2>(base, tap_off, ntaps, C, w, o); break;
      default: conv_sub<1>(base, tap_off, ntaps, C, w, o); break;
    }
  }
}

#include "ops/conv2d/driver_impl.hpp"

}  // namespace conv2d_neon_isa

void conv2d_neon(const ConvParams& p, int64_t begin, int64_t end) {
  conv2d_neon_isa::conv_range(p, begin, end);
}

}  // namespace dirnet
