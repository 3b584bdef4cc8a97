// The float epilogue and packed stores of the reference kernels
// (ops/<op>/reference.cpp), written from the definition in common.hpp
// (Epilogue), one channel at a time. Only the reference files include this:
// they share their (default) compile flags, so plain inline functions are safe.
#pragma once

#include <cmath>
#include <vector>

#include "common.hpp"

namespace dirnet {
namespace ref {

inline float activation(const Epilogue& ep, int oc, float z) {
  switch (ep.act) {
    case ACT_HARDTANH: return z < ep.lo ? ep.lo : (z > ep.hi ? ep.hi : z);
    case ACT_RELU: return z > 0.f ? z : 0.f;
    case ACT_PRELU: return z >= 0.f ? z : z * ep.slope[oc];
    default: return z;
  }
}

// EP_FLOAT for channel oc of output pixel (n, y, x) with accumulator v:
// z = act(fma(A, v, B) (+ residual)), stored to out_f if there is one.
// Returns the packed sign bit of z (1 = negative: !(z >= thr), so NaN is -1).
inline bool float_epilogue(const Epilogue& ep, int64_t n, int64_t y, int64_t x, int oc, float v) {
  float z = std::fma(ep.A[oc], v, ep.B[oc]);  // one rounding, as PyTorch's CPU BatchNorm
  if (ep.res.data) z += ep.res.data[n * ep.res.ns + y * ep.res.rs + x * ep.res.ps + oc];
  z = activation(ep, oc, z);
  if (ep.out_f.data) ep.out_f.data[n * ep.out_f.ns + y * ep.out_f.rs + x * ep.out_f.ps + oc] = z;
  return !(z >= (ep.pack_thr ? ep.pack_thr[oc] : 0.f));
}

// Writes the packed signs of one pixel: every word, channel-padding bits 0.
inline void store_bits(const BView& o, int64_t n, int64_t y, int64_t x, const std::vector<bool>& neg) {
  uint64_t* pix = o.data + n * o.ns + y * o.rs + x * o.ps;
  for (int w = 0; w < o.Cw; ++w) pix[w] = 0;
  for (size_t c = 0; c < neg.size(); ++c)
    if (neg[c]) pix[c / 64] |= uint64_t(1) << (c % 64);
}

}  // namespace ref
}  // namespace dirnet
