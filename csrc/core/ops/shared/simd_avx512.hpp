// Compare masks of the AVX-512 path (mask registers), used by the epilogue
// and by sign packing. Included inside an ISA namespace (see basics_impl.hpp)
// of a file built with the AVX-512 flags that included <immintrin.h>.
#pragma once

#include "ops/shared/basics_impl.hpp"

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
