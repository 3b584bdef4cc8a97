// Binary convolution (XNOR-popcount) kernels: parameters and the selector.
//
//   reference.cpp  scalar loops over every bit, straight from the definition
//   portable.cpp   scalar 64-bit popcount
//   avx2.cpp       pshufb nibble lookup on nibbles split before the XOR,
//                  float epilogue fused per 32-channel block
//   avx512.cpp     VPOPCNTQ, epilogue fused from the registers
//   neon.cpp       aarch64: EOR + CNT, pairwise byte adds, UADALP into 16-bit counters
//   neon_dotprod.cpp  aarch64 + dot product: EOR + CNT, UDOT into 32-bit counters
//                  (both: neon_impl.hpp through the generic driver)
//
// dot = sum over the window of sign(x) * sign(w) (K = C * KH * KW real bits),
// then the epilogue (common.hpp: Epilogue). One padding (the packed border,
// bit 0 = +1) contributes +sign(w) per border tap, zero padding contributes 0.
#pragma once

#include <string>

#include "common.hpp"
#include "ops/op_kernel.hpp"

namespace dirnet {

struct BConvParams {
  BView in;                  // bordered input (border >= padding)
  int32_t OH = 0, OW = 0, OC = 0, OCB = 0;
  int32_t KH = 1, KW = 1, sh = 1, sw = 1, pt = 0, pl = 0, dh = 1, dw = 1;
  // The window is read as `ntaps` runs of `rlen` consecutive words: one run
  // per kernel row when the taps of a row are contiguous (dilation 1), else
  // one run per tap (rlen = Cw). Weights follow the same order, which is in
  // both cases tap-major: word (ky * KW + kx) * Cw + i of the window.
  int32_t ntaps = 1, rlen = 1;
  const int64_t* tap_off = nullptr;  // word offset of each run from the window origin
  const uint64_t* w = nullptr;       // [OCB][KH * KW * Cw][32]
  int32_t Kbits = 0;                 // C * KH * KW
  // Zero padding (nullptr: one padding). [KH * KW][OCB * 32]: sum of the weight
  // signs of each tap, which the optimized paths subtract for border taps.
  const int32_t* tapsum = nullptr;
  Epilogue ep;
};

using BConv2dKernel = OpKernel<BConvParams>;

// The kernel of `path` (a name of dispatch.hpp); std::invalid_argument if none.
const BConv2dKernel& bconv2d_kernel(const std::string& path);

// Work items of the optimized paths: register tiles of kBTile pixels x blocks
// of 32 output channels.
inline int64_t bconv2d_tile_items(const BConvParams& p) {
  return ceil_div(int64_t(p.in.N) * p.OH * p.OW, kBTile) * p.OCB;
}

// The per-path kernels (bconv2d/<path>.cpp), for the selector.
int64_t bconv2d_reference_items(const BConvParams& p);  // output pixels
void bconv2d_reference(const BConvParams& p, int64_t begin, int64_t end);
void bconv2d_portable(const BConvParams& p, int64_t begin, int64_t end);
#if defined(DIRNET_X86)
void bconv2d_avx2(const BConvParams& p, int64_t begin, int64_t end);
void bconv2d_avx512(const BConvParams& p, int64_t begin, int64_t end);
#endif
#if defined(DIRNET_ARM64)
void bconv2d_neon(const BConvParams& p, int64_t begin, int64_t end);
void bconv2d_neon_dot(const BConvParams& p, int64_t begin, int64_t end);
#endif

}  // namespace dirnet
