// fp32 convolution kernels (stem, downsample, classifier): parameters and the
// selector.
//
//   reference.cpp  scalar loops from the definition
//   portable.cpp   scalar, 64 output channels per pass
//   avx2.cpp       FMA, 6 pixels x 16 channels per register tile
//   avx512.cpp     FMA, 6 pixels x 64 channels per register tile
//   neon.cpp       aarch64 FMLA (by element), 5 pixels x 16 channels per register tile
//
// acc = sum over taps (ky, kx) then input channels c of x * w, zero padding,
// then the epilogue (kind EP_FLOAT). The vector paths and the reference add
// each product with one rounding (fma) in that order, so they agree bit for
// bit; the portable path rounds each product first on x86-64 (its baseline
// has no FMA instruction, and a libm fma call per product would be far
// slower), and uses FMA on aarch64, where it is exact too.
#pragma once

#include <string>

#include "common.hpp"
#include "ops/op_kernel.hpp"

namespace dirnet {

struct ConvParams {
  FView in;                 // bordered, zero-filled border
  int32_t OH = 0, OW = 0, OC = 0, OCB = 0;
  int32_t KH = 1, KW = 1, sh = 1, sw = 1, pt = 0, pl = 0, dh = 1, dw = 1;
  int32_t ntaps = 1, rlen = 1;      // runs of rlen consecutive floats (see BConvParams)
  const int64_t* tap_off = nullptr;  // float offset of each run from the window origin
  const float* w = nullptr;          // [OCB][KH * KW * C][64], tap-major
  Epilogue ep;                       // kind EP_FLOAT
};

using Conv2dKernel = OpKernel<ConvParams>;

// The kernel of `path` (a name of dispatch.hpp); std::invalid_argument if none.
const Conv2dKernel& conv2d_kernel(const std::string& path);

// Work items of the optimized paths: register tiles of kTile pixels x blocks
// of 64 output channels.
inline int64_t conv2d_tile_items(const ConvParams& p) {
  return ceil_div(int64_t(p.in.N) * p.OH * p.OW, kTile) * p.OCB;
}

// The per-path kernels (conv2d/<path>.cpp), for the selector.
int64_t conv2d_reference_items(const ConvParams& p);  // output pixels
void conv2d_reference(const ConvParams& p, int64_t begin, int64_t end);
void conv2d_portable(const ConvParams& p, int64_t begin, int64_t end);
#if defined(DIRNET_X86)
void conv2d_avx2(const ConvParams& p, int64_t begin, int64_t end);
void conv2d_avx512(const ConvParams& p, int64_t begin, int64_t end);
#endif
#if defined(DIRNET_ARM64)
void conv2d_neon(const ConvParams& p, int64_t begin, int64_t end);
#endif

}  // namespace dirnet
