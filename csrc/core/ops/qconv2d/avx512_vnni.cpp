// int8 conv, AVX-512 VNNI: u8 buffer (x_q + 128) and VPDPBUSD on zmm: each
// int32 lane adds u0 w0 + u1 w1 + u2 w2 + u3 w3 (u8 x s8, products exact in
// 32 bits, no saturation in the non-"s" form). 6 pixels x 64 output channels
// (24 accumulators, 4 weight registers, one broadcast). Built with
// -mavx512vnni in addition to the AVX-512 flags (file name, CMakeLists.txt).
#include "ops/qconv2d/qconv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace qconv2d_avx512_vnni_isa {

#include "ops/shared/simd_avx512.hpp"

using QElem = uint8_t;
using QWElem = int8_t;
constexpr int QTILE = 6;  // == the avx512 path's tile (qconv2d_avx512_items)
constexpr int kPasses = 1, kPassW = 0;  // see driver_impl.hpp

template <int M>
static inline void qpass(const uint8_t* const* base, const int64_t* tap_off, int ntaps, int G, const int8_t* wb,
                         const int32_t* corr, int32_t* out) {
  __m512i acc[M][4];
#pragma GCC unroll 4
  for (int n = 0; n < 4; ++n) {
    const __m512i c = _mm512_loadu_si512(corr + 16 * n);
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) acc[j][n] = c;
  }
  for (int t = 0; t < ntaps; ++t) {
    const uint8_t* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int g = 0; g < G; ++g) {
      const __m512i w0 = _mm512_loadu_si512(wb + 0);
      const __m512i w1 = _mm512_loadu_si512(wb + 64);
      const __m512i w2 = _mm512_loadu_si512(wb + 128);
      const __m512i w3 = _mm512_loadu_si512(wb + 192);
      wb += 256;
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) {
        int32_t v;
        __builtin_memcpy(&v, ptr[j] + 4 * g, 4);
        const __m512i a = _mm512_set1_epi32(v);
        acc[j][0] = _mm512_dpbusd_epi32(acc[j][0], a, w0);
        acc[j][1] = _mm512_dpbusd_epi32(acc[j][1], a, w1);
        acc[j][2] = _mm512_dpbusd_epi32(acc[j][2], a, w2);
        acc[j][3] = _mm512_dpbusd_epi32(acc[j][3], a, w3);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) _mm512_storeu_si512(out + j * 64 + n * 16, acc[j][n]);
}

#include "ops/qconv2d/driver_impl.hpp"

}  // namespace qconv2d_avx512_vnni_isa

void qconv2d_avx512_vnni(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx512_vnni_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
