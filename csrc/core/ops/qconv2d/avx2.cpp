// int8 conv, AVX2 path without VNNI: int16 buffer (x_q + 128) and VPMADDWD
// on ymm. No 16-bit saturation can happen: VPMADDWD multiplies int16 by
// int16 into 32-bit products and adds pairs in 32 bits (it only wraps for
// -32768 * -32768 twice); here |u| <= 255 and |w| <= 127, so each pair is at
// most 2 * 255 * 127 = 64770 and every partial sum is bounded by
// K * 255 * 127 < 2^31 (K <= kQMaxK). (VPMADDUBSW would add its u8 x s8
// pairs in int16 and could saturate at 32767: not used.) 6 pixels x 16
// output channels per pass (12 accumulators), four passes per block of 64.
// Also the vectorised quantizers of the avx2 path.
#include "ops/qconv2d/qconv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace qconv2d_avx2_isa {

#include "ops/shared/simd_avx2.hpp"
#include "ops/qconv2d/quantize_impl.hpp"

using QElem = int16_t;
using QWElem = int16_t;
constexpr int QTILE = 6;
constexpr int kPasses = 4, kPassW = 32;  // see driver_impl.hpp

// S16 layout: group row of 256 int16 = [half][64 oc][2]; pass `sub` reads oc [16 sub, 16 sub + 16).
template <int M>
static inline void qpass(const int16_t* const* base, const int64_t* tap_off, int ntaps, int G, const int16_t* wb,
                         const int32_t* corr, int32_t* out) {
  __m256i acc[M][2];
  const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr));
  const __m256i c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + 8));
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) acc[j][0] = c0, acc[j][1] = c1;
  for (int t = 0; t < ntaps; ++t) {
    const int16_t* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int g = 0; g < G; ++g) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 128 * h));
        const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 128 * h + 16));
#pragma GCC unroll 8
        for (int j = 0; j < M; ++j) {
          int32_t v;
          __builtin_memcpy(&v, ptr[j] + 4 * g + 2 * h, 4);
          const __m256i a = _mm256_set1_epi32(v);
          acc[j][0] = _mm256_add_epi32(acc[j][0], _mm256_madd_epi16(a, w0));
          acc[j][1] = _mm256_add_epi32(acc[j][1], _mm256_madd_epi16(a, w1));
        }
      }
      wb += 256;
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j * 64), acc[j][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j * 64 + 8), acc[j][1]);
  }
}

#include "ops/qconv2d/driver_impl.hpp"

// x_q + 128 of 8 floats.
static inline __m256i quant8(const float* s, __m256 r) {
  __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s), r);
  v = _mm256_max_ps(v, _mm256_set1_ps(-127.f));  // NaN -> -127 (the second operand)
  v = _mm256_min_ps(v, _mm256_set1_ps(127.f));
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(128));  // MXCSR: round half to even
}

template <typename T>
static void quantize_rows(const QConvParams& p, int64_t begin, int64_t end) {
  const int64_t len = int64_t(p.in.W) * p.C;
  const __m256 r = _mm256_set1_ps(p.inv_scale);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / p.in.H, y = row % p.in.H;
    const float* s = p.in.data + n * p.in.ns + y * p.in.rs;
    T* d = static_cast<T*>(p.q) + n * p.qns + y * p.qrs;
    int64_t i = 0;
    if (sizeof(T) == 1) {
      for (; i + 32 <= len; i += 32) {  // values 1..255: the saturating packs keep them
        const __m256i a = _mm256_packs_epi32(quant8(s + i, r), quant8(s + i + 8, r));
        const __m256i b = _mm256_packs_epi32(quant8(s + i + 16, r), quant8(s + i + 24, r));
        const __m256i u = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b), order);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), u);
      }
    } else {
      for (; i + 16 <= len; i += 16) {
        const __m256i a = _mm256_packs_epi32(quant8(s + i, r), quant8(s + i + 8, r));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), _mm256_permute4x64_epi64(a, 0xD8));
      }
    }
    for (; i < len; ++i) d[i] = T(quantize_one(s[i], p.inv_scale) + 128);
  }
}

}  // namespace qconv2d_avx2_isa

int64_t qconv2d_avx2_items(const QConvParams& p) { return qconv2d_tiles(p, qconv2d_avx2_isa::QTILE); }

void qconv2d_avx2_quantize8(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx2_isa::quantize_rows<uint8_t>(p, begin, end);
}

void qconv2d_avx2_quantize16(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx2_isa::quantize_rows<int16_t>(p, begin, end);
}

void qconv2d_avx2(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx2_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
