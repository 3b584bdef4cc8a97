// int8 conv, AVX-512 path without VNNI: int16 buffer (x_q + 128) and
// VPMADDWD on zmm: each int32 lane gets u0 * w0 + u1 * w1 of one output
// channel. VPMADDWD forms both products in 32 bits and never saturates
// (|u * w| <= 255 * 127), so the sum is exact. 6 pixels x 64 output channels
// (24 accumulators). Also the vectorised quantizers of the avx512 path (the
// VNNI variant in avx512_vnni.cpp uses quantize8).
#include "ops/qconv2d/qconv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace qconv2d_avx512_isa {

#include "ops/shared/simd_avx512.hpp"
#include "ops/qconv2d/quantize_impl.hpp"

using QElem = int16_t;
using QWElem = int16_t;
constexpr int QTILE = 6;
constexpr int kPasses = 1, kPassW = 0;  // see driver_impl.hpp

template <int M>
static inline void qpass(const int16_t* const* base, const int64_t* tap_off, int ntaps, int G, const int16_t* wb,
                         const int32_t* corr, int32_t* out) {
  __m512i acc[M][4];
#pragma GCC unroll 4
  for (int n = 0; n < 4; ++n) {
    const __m512i c = _mm512_loadu_si512(corr + 16 * n);
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) acc[j][n] = c;
  }
  for (int t = 0; t < ntaps; ++t) {
    const int16_t* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int g = 0; g < G; ++g) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m512i w0 = _mm512_loadu_si512(wb + 0);
        const __m512i w1 = _mm512_loadu_si512(wb + 32);
        const __m512i w2 = _mm512_loadu_si512(wb + 64);
        const __m512i w3 = _mm512_loadu_si512(wb + 96);
        wb += 128;
#pragma GCC unroll 8
        for (int j = 0; j < M; ++j) {
          int32_t v;
          __builtin_memcpy(&v, ptr[j] + 4 * g + 2 * h, 4);
          const __m512i a = _mm512_set1_epi32(v);
          acc[j][0] = _mm512_add_epi32(acc[j][0], _mm512_madd_epi16(a, w0));
          acc[j][1] = _mm512_add_epi32(acc[j][1], _mm512_madd_epi16(a, w1));
          acc[j][2] = _mm512_add_epi32(acc[j][2], _mm512_madd_epi16(a, w2));
          acc[j][3] = _mm512_add_epi32(acc[j][3], _mm512_madd_epi16(a, w3));
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) _mm512_storeu_si512(out + j * 64 + n * 16, acc[j][n]);
}

#include "ops/qconv2d/driver_impl.hpp"

// x_q + 128 of 16 floats (the lanes of `mask`).
static inline __m512i quant16(const float* s, __mmask16 mask, __m512 r) {
  __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, s), r);
  v = _mm512_max_ps(v, _mm512_set1_ps(-127.f));  // NaN -> -127 (the second operand)
  v = _mm512_min_ps(v, _mm512_set1_ps(127.f));
  return _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(128));  // MXCSR: round half to even
}

template <typename T>
static void quantize_rows(const QConvParams& p, int64_t begin, int64_t end) {
  const int64_t len = int64_t(p.in.W) * p.C;
  const __m512 r = _mm512_set1_ps(p.inv_scale);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / p.in.H, y = row % p.in.H;
    const float* s = p.in.data + n * p.in.ns + y * p.in.rs;
    T* d = static_cast<T*>(p.q) + n * p.qns + y * p.qrs;
    for (int64_t i = 0; i < len; i += 16) {
      const __mmask16 mask = len - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (len - i)) - 1u);
      const __m512i q = quant16(s + i, mask, r);
      if (sizeof(T) == 1) {
        _mm512_mask_cvtepi32_storeu_epi8(d + i, mask, q);
      } else {
        _mm512_mask_cvtepi32_storeu_epi16(d + i, mask, q);
      }
    }
  }
}

}  // namespace qconv2d_avx512_isa

int64_t qconv2d_avx512_items(const QConvParams& p) { return qconv2d_tiles(p, qconv2d_avx512_isa::QTILE); }

void qconv2d_avx512_quantize8(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx512_isa::quantize_rows<uint8_t>(p, begin, end);
}

void qconv2d_avx512_quantize16(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx512_isa::quantize_rows<int16_t>(p, begin, end);
}

void qconv2d_avx512(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx512_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
