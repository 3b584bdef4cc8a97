// gconv2d, AVX2 + FMA: depthwise convolutions 8 channels per register
// (depthwise_impl.hpp); other groupings run the portable kernel.
#include <immintrin.h>

#define DIRNET_ISA_NS gconv_avx2
#include "ops/gconv2d/depthwise_impl.hpp"

namespace dirnet {
namespace {

struct Vec256 {
  static constexpr int V = 8;
  using R = __m256;
  using M = __m256i;
  static M mask(int n) {
    // lane i is on when i < n (the sign bit selects in maskload/maskstore)
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R zero() { return _mm256_setzero_ps(); }
  static R load(const float* a) { return _mm256_loadu_ps(a); }
  static R loadm(const float* a, M m) { return _mm256_maskload_ps(a, m); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static void storem(float* a, R v, M m) { _mm256_maskstore_ps(a, m, v); }
};

}  // namespace

void gconv2d_avx2(const GConvParams& p, int64_t begin, int64_t end) {
  if (p.icg == 1 && p.opg == 1)
    gconv_avx2::depthwise_rows<Vec256>(p, begin, end);
  else
    gconv2d_portable(p, begin, end);
}

}  // namespace dirnet
