// fp32 conv, AVX-512 path: FMA on M pixels x 64 output channels (four
// registers). Built with the AVX-512 flags (see CMakeLists.txt).
#include "ops/conv2d/conv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace conv2d_avx512_isa {

#include "ops/shared/simd_avx512.hpp"

// acc[j][0..64) = sum over the window of pixel j of x * w, 64 output channels.
template <int M>
static inline void conv_tile(const float* const* base, const int64_t* tap_off, int ntaps, int C,
                             const float* wb, float* out) {
  __m512 acc[M][4];
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) acc[j][n] = _mm512_setzero_ps();
  for (int t = 0; t < ntaps; ++t) {
    const float* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int c = 0; c < C; ++c) {
      const __m512 w0 = _mm512_loadu_ps(wb + 0);
      const __m512 w1 = _mm512_loadu_ps(wb + 16);
      const __m512 w2 = _mm512_loadu_ps(wb + 32);
      const __m512 w3 = _mm512_loadu_ps(wb + 48);
      wb += 64;
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) {
        const __m512 a = _mm512_set1_ps(ptr[j][c]);
        acc[j][0] = _mm512_fmadd_ps(a, w0, acc[j][0]);
        acc[j][1] = _mm512_fmadd_ps(a, w1, acc[j][1]);
        acc[j][2] = _mm512_fmadd_ps(a, w2, acc[j][2]);
        acc[j][3] = _mm512_fmadd_ps(a, w3, acc[j][3]);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) _mm512_storeu_ps(out + j * 64 + n * 16, acc[j][n]);
}

static inline void conv_tile_m(int m, const float* const* base, const int64_t* tap_off, int ntaps,
                               int C, const float* wb, float* out) {
  switch (m) {
    case 6: conv_tile<6>(base, tap_off, ntaps, C, wb, out); break;
    case 5: conv_tile<5>(base, tap_off, ntaps, C, wb, out); break;
    case 4: conv_tile<4>(base, tap_off, ntaps, C, wb, out); break;
    case 3: conv_tile<3>(base, tap_off, ntaps, C, wb, out); break;
    case 2: conv_tile<2>(base, tap_off, ntaps, C, wb, out); break;
    default: conv_tile<1>(base, tap_off, ntaps, C, wb, out); break;
  }
}

#include "ops/conv2d/driver_impl.hpp"

}  // namespace conv2d_avx512_isa

void conv2d_avx512(const ConvParams& p, int64_t begin, int64_t end) {
  conv2d_avx512_isa::conv_range(p, begin, end);
}

}  // namespace dirnet
