// The vector unary kernels, written once over a small SIMD wrapper `V`
// (avx2.cpp, avx512.cpp, neon.cpp define it and include this file inside their ISA
// namespace, so nothing compiled for AVX-512 can be merged into another path).
//
// V provides: T (register type), kLanes, load, store, set1, add, sub, mul,
// div, fma(a, b, c) = a * b + c, fnma(a, b, c) = c - a * b (one rounding),
// min(a, b) / max(a, b) returning b when either is NaN (the x86 rule),
// round (to nearest even), floor, pow2i(k) = 2^k for integral k in [-126, 127].
//
// exp(x): n = round(x * log2(e)), r = x - n * ln(2) (ln 2 split in two so
// the product is exact), exp(r) by Cephes' degree-6 polynomial on
// |r| <= ln(2)/2 (relative error below 1.5 ulp there), scaled by 2^n as two
// factors 2^(n - n/2) * 2^(n/2): both stay normal for every n in [-150, 129],
// so overflow gives +inf and small results round to the right subnormal
// with one final rounding. x is clamped to [-104, 89] first (exp is 0 or inf
// beyond); min(hi, x) / max(lo, x) keep a NaN x, which then propagates.
#pragma once

template <class V>
static inline typename V::T exp_v(typename V::T x) {
  using T = typename V::T;
  x = V::max(V::set1(-104.f), V::min(V::set1(89.f), x));
  const T n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  T r = V::fnma(n, V::set1(0.693359375f), x);  // 0.693359375 has 9 bits: n * it is exact
  r = V::fnma(n, V::set1(-2.12194440e-4f), r);
  T p = V::set1(1.9875691500e-4f);
  p = V::fma(p, r, V::set1(1.3981999507e-3f));
  p = V::fma(p, r, V::set1(8.3334519073e-3f));
  p = V::fma(p, r, V::set1(4.1665795894e-2f));
  p = V::fma(p, r, V::set1(1.6666665459e-1f));
  p = V::fma(p, r, V::set1(5.0000001201e-1f));
  p = V::fma(V::mul(p, r), r, V::add(r, V::set1(1.f)));  // 1 + r + r^2 * P(r)
  const T half = V::floor(V::mul(n, V::set1(0.5f)));
  return V::mul(V::mul(p, V::pow2i(V::sub(n, half))), V::pow2i(half));
}

template <class V>
static inline typename V::T unary_v(int32_t kind, typename V::T x) {
  using T = typename V::T;
  const T one = V::set1(1.f), three = V::set1(3.f), six = V::set1(6.f), zero = V::set1(0.f);
  switch (kind) {
    case UNARY_SIGMOID: return V::div(one, V::add(one, exp_v<V>(V::sub(zero, x))));
    case UNARY_SILU: return V::div(x, V::add(one, exp_v<V>(V::sub(zero, x))));
    // max(0, t) / min(6, t): a NaN t is kept (see V::min)
    case UNARY_HARDSIGMOID: return V::div(V::min(six, V::max(zero, V::add(x, three))), six);
    case UNARY_HARDSWISH: return V::div(V::mul(x, V::min(six, V::max(zero, V::add(x, three)))), six);
    default: return x;
  }
}

// One row: full registers, then the tail through a padded copy (the same
// vector code, so a value does not depend on where in the row it falls).
template <class V>
static inline void unary_row(int32_t kind, const float* in, float* out, int64_t count) {
  int64_t i = 0;
  for (; i + V::kLanes <= count; i += V::kLanes) V::store(out + i, unary_v<V>(kind, V::load(in + i)));
  if (i < count) {
    float buf[V::kLanes] = {};
    const int64_t rest = count - i;
    for (int64_t j = 0; j < rest; ++j) buf[j] = in[i + j];
    V::store(buf, unary_v<V>(kind, V::load(buf)));
    for (int64_t j = 0; j < rest; ++j) out[i + j] = buf[j];
  }
}

// `-x` is 0 - x above: it differs from a sign flip only for x = 0 (+0 vs -0),
// which exp maps to 1 either way.
