// Compare masks of the AVX2 path (VCMPPS/VPCMPGTD + VMOVMSKPS), used by the
// epilogue and by sign packing. Included inside an ISA namespace (see
// basics_impl.hpp) of a file built with -mavx2 that included <immintrin.h>.
#pragma once

#include "ops/shared/basics_impl.hpp"

// Bit c set iff !(z[c] >= t[c]) (so NaN packs as -1), c < 32.
static inline uint32_t mask_nge_f32x32(const float* z, const float* t) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const __m256 c = _mm256_cmp_ps(_mm256_loadu_ps(z + 8 * i), _mm256_loadu_ps(t + 8 * i), _CMP_NGE_UQ);
    r |= uint32_t(_mm256_movemask_ps(c)) << (8 * i);
  }
  return r;
}

// Bit c set iff a[c] < b[c], c < 32.
static inline uint32_t mask_lt_i32x32(const int32_t* a, const int32_t* b) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 8 * i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 8 * i));
    r |= uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(vb, va)))) << (8 * i);
  }
  return r;
}
