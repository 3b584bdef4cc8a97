// AVX-512 path: VPOPCNTQ on 8 output channels per register, FMA for fp32.
// Built with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vpopcntdq
// (see CMakeLists.txt); only selected when the CPU reports all of them.
#include "common.hpp"

#include <immintrin.h>

namespace dirnet {
namespace isa_avx512 {

// dots[j][0..32) = K - 2 * popcount over the window of pixel j, for the 32
// output channels of one weight block ([K words][32]).
template <int M>
static inline void bconv_tile(const uint64_t* const* base, const int64_t* tap_off, int ntaps, int Cw,
                              const uint64_t* wb, int32_t* dots, int32_t Kbits) {
  __m512i acc[M][4];
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) acc[j][n] = _mm512_setzero_si512();
  for (int t = 0; t < ntaps; ++t) {
    const uint64_t* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int c = 0; c < Cw; ++c) {
      const __m512i w0 = _mm512_loadu_si512(wb + 0);
      const __m512i w1 = _mm512_loadu_si512(wb + 8);
      const __m512i w2 = _mm512_loadu_si512(wb + 16);
      const __m512i w3 = _mm512_loadu_si512(wb + 24);
      wb += 32;
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) {
        const __m512i a = _mm512_set1_epi64(static_cast<long long>(ptr[j][c]));
        acc[j][0] = _mm512_add_epi64(acc[j][0], _mm512_popcnt_epi64(_mm512_xor_si512(a, w0)));
        acc[j][1] = _mm512_add_epi64(acc[j][1], _mm512_popcnt_epi64(_mm512_xor_si512(a, w1)));
        acc[j][2] = _mm512_add_epi64(acc[j][2], _mm512_popcnt_epi64(_mm512_xor_si512(a, w2)));
        acc[j][3] = _mm512_add_epi64(acc[j][3], _mm512_popcnt_epi64(_mm512_xor_si512(a, w3)));
      }
    }
  }
  const __m256i kv = _mm256_set1_epi32(Kbits);
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) {
      const __m256i pop = _mm512_cvtepi64_epi32(acc[j][n]);
      const __m256i d = _mm256_sub_epi32(kv, _mm256_slli_epi32(pop, 1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dots + j * 32 + n * 8), d);
    }
}

static inline void bconv_tile_m(int m, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                int Cw, const uint64_t* wb, int32_t* dots, int32_t Kbits) {
  switch (m) {
    case 8: bconv_tile<8>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    case 7: bconv_tile<7>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    case 6: bconv_tile<6>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    case 5: bconv_tile<5>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    case 4: bconv_tile<4>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    case 3: bconv_tile<3>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    case 2: bconv_tile<2>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
    default: bconv_tile<1>(base, tap_off, ntaps, Cw, wb, dots, Kbits); break;
  }
}

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

// Bit c set iff !(z[c] >= t[c]) (so NaN packs as -1), c < 32.
static inline uint32_t mask_nge_f32x32(const float* z, const float* t) {
  const __mmask16 a = _mm512_cmp_ps_mask(_mm512_loadu_ps(z), _mm512_loadu_ps(t), _CMP_NGE_UQ);
  const __mmask16 b =
      _mm512_cmp_ps_mask(_mm512_loadu_ps(z + 16), _mm512_loadu_ps(t + 16), _CMP_NGE_UQ);
  return uint32_t(a) | (uint32_t(b) << 16);
}

// Bit c set iff a[c] < b[c], c < 32.
static inline uint32_t mask_lt_i32x32(const int32_t* a, const int32_t* b) {
  const __mmask16 lo = _mm512_cmplt_epi32_mask(_mm512_loadu_si512(a), _mm512_loadu_si512(b));
  const __mmask16 hi =
      _mm512_cmplt_epi32_mask(_mm512_loadu_si512(a + 16), _mm512_loadu_si512(b + 16));
  return uint32_t(lo) | (uint32_t(hi) << 16);
}

#include "kernels_impl.hpp"

}  // namespace isa_avx512

const Kernels kAvx512 = {"avx512", isa_avx512::bconv_range, isa_avx512::conv_range,
                         isa_avx512::pack_range};

}  // namespace dirnet
