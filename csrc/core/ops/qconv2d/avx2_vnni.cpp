// int8 conv, AVX-VNNI (VEX-encoded VPDPBUSD on ymm; Alder Lake and later,
// Zen 5): u8 buffer (x_q + 128), u8 x s8 products summed by four into int32
// without saturation. 6 pixels x 16 output channels per pass (12
// accumulators), four passes per block of 64. Built with -mavxvnni in
// addition to the AVX2 flags (file name, CMakeLists.txt).
#include "ops/qconv2d/qconv2d_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace qconv2d_avx2_vnni_isa {

#include "ops/shared/simd_avx2.hpp"

using QElem = uint8_t;
using QWElem = int8_t;
constexpr int QTILE = 6;  // == the avx2 path's tile (qconv2d_avx2_items)
constexpr int kPasses = 4, kPassW = 64;  // see driver_impl.hpp

// S8 layout: group row of 256 bytes = [64 oc][4]; pass `sub` reads bytes [64 sub, 64 sub + 64).
template <int M>
static inline void qpass(const uint8_t* const* base, const int64_t* tap_off, int ntaps, int G, const int8_t* wb,
                         const int32_t* corr, int32_t* out) {
  __m256i acc[M][2];
  const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr));
  const __m256i c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + 8));
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) acc[j][0] = c0, acc[j][1] = c1;
  for (int t = 0; t < ntaps; ++t) {
    const uint8_t* ptr[M];
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int g = 0; g < G; ++g) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 32));
      wb += 256;
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) {
        int32_t v;
        __builtin_memcpy(&v, ptr[j] + 4 * g, 4);
        const __m256i a = _mm256_set1_epi32(v);
        acc[j][0] = _mm256_dpbusd_avx_epi32(acc[j][0], a, w0);
        acc[j][1] = _mm256_dpbusd_avx_epi32(acc[j][1], a, w1);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j * 64), acc[j][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j * 64 + 8), acc[j][1]);
  }
}

#include "ops/qconv2d/driver_impl.hpp"

}  // namespace qconv2d_avx2_vnni_isa

void qconv2d_avx2_vnni(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_avx2_vnni_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
