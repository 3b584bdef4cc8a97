// The depthwise kernel body (one output channel per input channel), written
// once over a SIMD width and included by avx2.cpp, avx512.cpp and neon.cpp,
// each inside its own namespace and compiled with its own flags.
//
// A work item is one output row. For each block of V channels, four output
// pixels at a time share each tap's weight register; every tap is one
// (masked, for the last block) load of V consecutive input channels, since
// NHWC keeps a pixel's channels adjacent and the zero border removes every
// bounds check. The epilogue (A, B, activation) runs on the accumulators.
//
// Needs, from the including file: struct Vec with
//   static constexpr int V; using R (register); using M (tail mask);
//   M mask(int n) (first n lanes); R zero(); R load(const float*) (full);
//   R loadm(const float*, M); R fma(R a, R b, R c) (a * b + c, one rounding);
//   R max(R, R); R min(R, R); R set1(float); void storem(float*, R, M).
#pragma once

#include "ops/gconv2d/gconv2d_kernels.hpp"

namespace dirnet {
namespace DIRNET_ISA_NS {

template <class Vec>
inline typename Vec::R dw_epilogue(const GConvParams& p, int64_t c0, typename Vec::R acc) {
  typename Vec::R v = Vec::fma(Vec::load(p.A + c0), acc, Vec::load(p.B + c0));
  if (p.act == ACT_RELU) v = Vec::max(v, Vec::zero());
  if (p.act == ACT_HARDTANH) v = Vec::min(Vec::max(v, Vec::set1(p.lo)), Vec::set1(p.hi));
  return v;
}

template <class Vec>
void depthwise_rows(const GConvParams& p, int64_t begin, int64_t end) {
  using R = typename Vec::R;
  constexpr int V = Vec::V;
  constexpr int P = 4;  // output pixels per pass
  const int64_t OW = p.out.W, step = int64_t(p.sw) * p.in.ps;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / p.out.H, y = r % p.out.H;
    const float* row = gconv2d_origin(p, n, y, 0);
    float* dst = p.out.data + n * p.out.ns + y * p.out.rs;
    for (int64_t c0 = 0; c0 < p.OC; c0 += V) {
      const auto m = Vec::mask(int(p.OC - c0 < V ? p.OC - c0 : V));
      int64_t x = 0;
      for (; x + P <= OW; x += P) {
        R acc[P];
        for (int i = 0; i < P; ++i) acc[i] = Vec::zero();
        const float* base = row + x * step + c0;
        for (int64_t t = 0; t < p.ntaps; ++t) {
          const R wv = Vec::load(p.w + t * p.OCp + c0);
          const float* s = base + p.tap_off[t];
          for (int i = 0; i < P; ++i) acc[i] = Vec::fma(Vec::loadm(s + i * step, m), wv, acc[i]);
        }
        for (int i = 0; i < P; ++i) Vec::storem(dst + (x + i) * p.out.ps + c0, dw_epilogue<Vec>(p, c0, acc[i]), m);
      }
      for (; x < OW; ++x) {
        R acc = Vec::zero();
        const float* s = row + x * step + c0;
        for (int64_t t = 0; t < p.ntaps; ++t)
          acc = Vec::fma(Vec::loadm(s + p.tap_off[t], m), Vec::load(p.w + t * p.OCp + c0), acc);
        Vec::storem(dst + x * p.out.ps + c0, dw_epilogue<Vec>(p, c0, acc), m);
      }
    }
  }
}

}  // namespace DIRNET_ISA_NS
}  // namespace dirnet
