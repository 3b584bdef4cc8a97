// Binary conv, AVX2 path: popcount by pshufb nibble lookup (compilers do not
// vectorise popcount on AVX2), byte counters flushed with psadbw every 31
// words. Built with -mavx2 -mfma -mpopcnt (see CMakeLists.txt).
#include "ops/bconv2d/bconv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace bconv2d_avx2_isa {

#include "ops/shared/simd_avx2.hpp"

static inline __m256i popcnt8(__m256i x, __m256i lut, __m256i m4) {
  const __m256i lo = _mm256_and_si256(x, m4);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

// Popcounts for M pixels x 8 output channels (two registers of 4 words).
template <int M>
static inline void bconv_sub(const uint64_t* const* base, const int64_t* tap_off, int ntaps, int Cw,
                             const uint64_t* wb, int64_t* pop) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1,
                                       2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  __m256i a8[M][2], a64[M][2];
#pragma GCC unroll 4
  for (int j = 0; j < M; ++j) {
    a8[j][0] = a8[j][1] = zero;
    a64[j][0] = a64[j][1] = zero;
  }
  int cnt = 0;
  for (int t = 0; t < ntaps; ++t) {
    const uint64_t* ptr[M];
#pragma GCC unroll 4
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int c = 0; c < Cw; ++c) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 4));
      wb += 32;
#pragma GCC unroll 4
      for (int j = 0; j < M; ++j) {
        const __m256i a = _mm256_set1_epi64x(static_cast<long long>(ptr[j][c]));
        a8[j][0] = _mm256_add_epi8(a8[j][0], popcnt8(_mm256_xor_si256(a, w0), lut, m4));
        a8[j][1] = _mm256_add_epi8(a8[j][1], popcnt8(_mm256_xor_si256(a, w1), lut, m4));
      }
      if (++cnt == 31) {  // bytes hold at most 31 * 8 = 248
        cnt = 0;
#pragma GCC unroll 4
        for (int j = 0; j < M; ++j) {
          a64[j][0] = _mm256_add_epi64(a64[j][0], _mm256_sad_epu8(a8[j][0], zero));
          a64[j][1] = _mm256_add_epi64(a64[j][1], _mm256_sad_epu8(a8[j][1], zero));
          a8[j][0] = a8[j][1] = zero;
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < M; ++j) {
    a64[j][0] = _mm256_add_epi64(a64[j][0], _mm256_sad_epu8(a8[j][0], zero));
    a64[j][1] = _mm256_add_epi64(a64[j][1], _mm256_sad_epu8(a8[j][1], zero));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pop + j * 8), a64[j][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pop + j * 8 + 4), a64[j][1]);
  }
}

static inline void bconv_tile_m(int m, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                int Cw, const uint64_t* wb, int32_t* dots, int32_t Kbits) {
  int64_t pop[3 * 8];
  for (int j0 = 0; j0 < m; j0 += 3) {
    const int mm = m - j0 < 3 ? m - j0 : 3;
    for (int sub = 0; sub < 4; ++sub) {
      const uint64_t* w = wb + sub * 8;
      if (mm == 3) bconv_sub<3>(base + j0, tap_off, ntaps, Cw, w, pop);
      else if (mm == 2) bconv_sub<2>(base + j0, tap_off, ntaps, Cw, w, pop);
      else bconv_sub<1>(base + j0, tap_off, ntaps, Cw, w, pop);
      for (int j = 0; j < mm; ++j)
        for (int l = 0; l < 8; ++l) dots[(j0 + j) * 32 + sub * 8 + l] = Kbits - 2 * int32_t(pop[j * 8 + l]);
    }
  }
}

#include "ops/bconv2d/driver_impl.hpp"

}  // namespace bconv2d_avx2_isa

void bconv2d_avx2(const BConvParams& p, int64_t begin, int64_t end) {
  bconv2d_avx2_isa::bconv_range(p, begin, end);
}

}  // namespace dirnet
