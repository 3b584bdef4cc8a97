// Grouped / depthwise fp32 convolution (file op `gconv2d`): parameters and
// the selector.
//
//   reference.cpp  plain loops from the definition (every path's yardstick)
//   portable.cpp   any groups: per output pixel, per group, the products of
//                  one input value with the group's output channels (an inner
//                  loop over contiguous weights the compiler vectorizes)
//   avx2.cpp       depthwise with one output per input channel (the MobileNet
//   avx512.cpp     and DARTS case): 8 / 16 channels per register, FMA; every
//   neon.cpp       other grouping runs the portable kernel (neon: 4 channels,
//                  FMLA, tails through a copy)
//
// out(n, y, x, o) = act(A[o] * acc + B[o]) with
// acc = sum over ci < C/G, taps (ky, kx) of
//       in(n, y*sh - pt + ky*dh, x*sw - pl + kx*dw, g*C/G + ci) * w[o][ci][ky][kx],
// g = o / (OC/G). The input view has a zero border at least as wide as the
// largest padding, so no kernel checks bounds.
#pragma once

#include <string>

#include "common.hpp"
#include "ops/op_kernel.hpp"

namespace dirnet {

struct GConvParams {
  FView in;                          // bordered, zero border
  FView out;
  int32_t OC = 0, C = 0, G = 1, icg = 1, opg = 1;  // channels; in / out channels per group
  int32_t KH = 1, KW = 1, sh = 1, sw = 1, pt = 0, pl = 0, dh = 1, dw = 1;
  int32_t ntaps = 1;
  const int64_t* tap_off = nullptr;  // float offset of tap ky * KW + kx from the window origin
  int64_t OCp = 0;                   // OC rounded up to 16 (weight and epilogue rows)
  const float* w = nullptr;          // [ntaps][icg][OCp], output channel fastest, zero padded
  const float* A = nullptr;          // [OCp] epilogue scale (1 when nothing fused)
  const float* B = nullptr;          // [OCp] epilogue shift (bias, or 0)
  int32_t act = ACT_NONE;            // ACT_NONE, ACT_RELU or ACT_HARDTANH
  float lo = 0.f, hi = 0.f;          // hardtanh bounds
};

using GConv2dKernel = OpKernel<GConvParams>;

// The kernel of `path` (a name of dispatch.hpp); std::invalid_argument if none.
const GConv2dKernel& gconv2d_kernel(const std::string& path);

// Work items of every path: output rows (n, y).
inline int64_t gconv2d_rows(const GConvParams& p) { return int64_t(p.out.N) * p.out.H; }

// The window origin of output pixel (n, y, x) in the input view.
inline const float* gconv2d_origin(const GConvParams& p, int64_t n, int64_t y, int64_t x) {
  return p.in.data + n * p.in.ns + (y * p.sh - p.pt) * p.in.rs + (x * p.sw - p.pl) * p.in.ps;
}

// The scalar epilogue all paths share for tails and the generic kernel.
inline float gconv2d_epilogue(const GConvParams& p, int64_t o, float acc) {
  float v = std::fma(p.A[o], acc, p.B[o]);
  if (p.act == ACT_RELU) v = v > 0.f ? v : 0.f;
  if (p.act == ACT_HARDTANH) v = v < p.lo ? p.lo : (v > p.hi ? p.hi : v);
  return v;
}

// The per-path kernels (gconv2d/<path>.cpp), for the selector.
void gconv2d_reference(const GConvParams& p, int64_t begin, int64_t end);
void gconv2d_portable(const GConvParams& p, int64_t begin, int64_t end);
#if defined(DIRNET_X86)
void gconv2d_avx2(const GConvParams& p, int64_t begin, int64_t end);
void gconv2d_avx512(const GConvParams& p, int64_t begin, int64_t end);
#endif
#if defined(DIRNET_ARM64)
void gconv2d_neon(const GConvParams& p, int64_t begin, int64_t end);
#endif

}  // namespace dirnet
