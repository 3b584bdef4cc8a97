// Unary activations, AVX-512 path (16 lanes). Built with the AVX-512 flags.
#include <immintrin.h>

#include "ops/unary/unary_kernels.hpp"

namespace dirnet {
namespace unary_avx512_isa {

struct V {
  using T = __m512;
  static constexpr int kLanes = 16;
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T fnma(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T floor(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static T pow2i(T k) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
};

#include "ops/unary/exp_impl.hpp"

}  // namespace unary_avx512_isa

void unary_avx512(const UnaryParams& p, int64_t begin, int64_t end) {
  unary_for_rows(p, begin, end, [&](const float* in, float* out, int64_t count) {
    unary_avx512_isa::unary_row<unary_avx512_isa::V>(p.kind, in, out, count);
  });
}

}  // namespace dirnet
