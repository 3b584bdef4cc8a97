// fp32 conv, AVX2 path: FMA on M pixels x 16 output channels (two registers)
// of a 64-wide block. Built with -mavx2 -mfma -mpopcnt (see CMakeLists.txt).
#include "ops/conv2d/conv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace conv2d_avx2_isa {

#include "ops/shared/simd_avx2.hpp"

// fp32: M pixels x 16 output channels (two registers) of a 64-wide block.
template <int M>
static inline void conv_sub(const float* const* base, const int64_t* tap_off, int ntaps, int C,
                            const float* wb, float* out) {
  __m256 acc[M][2];
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int t = 0; t < ntaps; ++t) {
    const float* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int c = 0; c < C; ++c) {
      const __m256 w0 = _mm256_loadu_ps(wb);
      const __m256 w1 = _mm256_loadu_ps(wb + 8);
      wb += 64;
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) {
        const __m256 a = _mm256_broadcast_ss(ptr[j] + c);
        acc[j][0] = _mm256_fmadd_ps(a, w0, acc[j][0]);
        acc[j][1] = _mm256_fmadd_ps(a, w1, acc[j][1]);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) {
    _mm256_storeu_ps(out + j * 64, acc[j][0]);
    _mm256_storeu_ps(out + j * 64 + 8, acc[j][1]);
  }
}

static inline void conv_tile_m(int m, const float* const* base, const int64_t* tap_off, int ntaps,
                               int C, const float* wb, float* out) {
  for (int sub = 0; sub < 4; ++sub) {
    const float* w = wb + sub * 16;
    float* o = out + sub * 16;
    switch (m) {
      case 6: conv_sub<6>(base, tap_off, ntaps, C, w, o); break;
      case 5: conv_sub<5>(base, tap_off, ntaps, C, w, o); break;
      case 4: conv_sub<4>(base, tap_off, ntaps, C, w, o); break;
      case 3: conv_sub<3>(base, tap_off, ntaps, C, w, o); break;
      case 2: conv_sub<2>(base, tap_off, ntaps, C, w, o); break;
      default: conv_sub<1>(base, tap_off, ntaps, C, w, o); break;
    }
  }
}

#include "ops/conv2d/driver_impl.hpp"

}  // namespace conv2d_avx2_isa

void conv2d_avx2(const ConvParams& p, int64_t begin, int64_t end) {
  conv2d_avx2_isa::conv_range(p, begin, end);
}

}  // namespace dirnet
