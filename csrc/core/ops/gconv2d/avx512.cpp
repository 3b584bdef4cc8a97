// gconv2d, AVX-512: depthwise convolutions 16 channels per register
// (depthwise_impl.hpp); other groupings run the portable kernel.
#include <immintrin.h>

#define DIRNET_ISA_NS gconv_avx512
#include "ops/gconv2d/depthwise_impl.hpp"

namespace dirnet {
namespace {

struct Vec512 {
  static constexpr int V = 16;
  using R = __m512;
  using M = __mmask16;
  static M mask(int n) { return M((1u << n) - 1u); }
  static R zero() { return _mm512_setzero_ps(); }
  static R load(const float* a) { return _mm512_loadu_ps(a); }
  static R loadm(const float* a, M m) { return _mm512_maskz_loadu_ps(m, a); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static void storem(float* a, R v, M m) { _mm512_mask_storeu_ps(a, m, v); }
};

}  // namespace

void gconv2d_avx512(const GConvParams& p, int64_t begin, int64_t end) {
  if (p.icg == 1 && p.opg == 1)
    gconv_avx512::depthwise_rows<Vec512>(p, begin, end);
  else
    gconv2d_portable(p, begin, end);
}

}  // namespace dirnet
