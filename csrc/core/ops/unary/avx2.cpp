// Unary activations, AVX2 path (8 lanes, FMA). Built with -mavx2 -mfma.
#include <immintrin.h>

#include "ops/unary/unary_kernels.hpp"

namespace dirnet {
namespace unary_avx2_isa {

struct V {
  using T = __m256;
  static constexpr int kLanes = 8;
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T set1(float v) { return _mm256_set1_ps(v); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T div(T a, T b) { return _mm256_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T fnma(T a, T b, T c) { return _mm256_fnmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T floor(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static T pow2i(T k) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
};

#include "ops/unary/exp_impl.hpp"

}  // namespace unary_avx2_isa

void unary_avx2(const UnaryParams& p, int64_t begin, int64_t end) {
  unary_for_rows(p, begin, end, [&](const float* in, float* out, int64_t count) {
    unary_avx2_isa::unary_row<unary_avx2_isa::V>(p.kind, in, out, count);
  });
}

}  // namespace dirnet
