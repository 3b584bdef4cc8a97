// AVX2 path: popcount by pshufb nibble lookup (compilers do not vectorise
// popcount on AVX2), byte counters flushed with psadbw every 31 words.
// Built with -mavx2 -mfma -mpopcnt (see CMakeLists.txt).
#include "common.hpp"

#include <immintrin.h>

namespace dirnet {
namespace isa_avx2 {

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

static inline uint32_t mask_nge_f32x32(const float* z, const float* t) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const __m256 c = _mm256_cmp_ps(_mm256_loadu_ps(z + 8 * i), _mm256_loadu_ps(t + 8 * i), _CMP_NGE_UQ);
    r |= uint32_t(_mm256_movemask_ps(c)) << (8 * i);
  }
  return r;
}

static inline uint32_t mask_lt_i32x32(const int32_t* a, const int32_t* b) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 8 * i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 8 * i));
    r |= uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(vb, va)))) << (8 * i);
  }
  return r;
}

#include "kernels/kernels_impl.hpp"

}  // namespace isa_avx2

const Kernels kAvx2 = {"avx2", isa_avx2::bconv_range, isa_avx2::conv_range, isa_avx2::pack_range};

}  // namespace dirnet
