// Plain-data descriptors shared by every kernel path (no torch, no std templates).
//
// Conventions (see docs/deploy.md):
//  * activations are NHWC; a view's `data` points at pixel (0, 0, 0) of the
//    interior, and a tensor may own a border of `border` pixels on each side,
//    so kernels read padded pixels without bounds checks;
//  * binary tensors pack channels into uint64 words, channel c in bit c % 64
//    of word c / 64; bit 1 means -1, bit 0 means +1 (so a zero border is
//    "one padding" and zero channel-padding bits agree with any weight);
//  * the dot product of two +-1 vectors of K real bits is K - 2 * popcount(a ^ w).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#ifndef DIRNET_BTILE
#define DIRNET_BTILE 6
#endif

namespace dirnet {

constexpr int kBlk = 32;    // output channels per binary-conv block (weights [OCB][K][32])
constexpr int kFBlk = 64;   // output channels per fp32-conv block (weights [OCB][K][64])
constexpr int kTile = 5;    // output pixels per register tile (fp32 conv)
constexpr int kBTile = DIRNET_BTILE;  // output pixels per register tile (binary conv)

enum Act : int32_t { ACT_NONE = 0, ACT_HARDTANH = 1, ACT_RELU = 2, ACT_PRELU = 3 };
enum EpKind : int32_t { EP_INT = 0, EP_FLOAT = 1, EP_THRESH = 2 };

struct FView {  // float NHWC
  float* data = nullptr;
  int64_t ns = 0, rs = 0, ps = 0;  // strides in floats: image, row, pixel
  int32_t N = 0, H = 0, W = 0, C = 0;
};

struct BView {  // packed NHWC
  uint64_t* data = nullptr;
  int64_t ns = 0, rs = 0, ps = 0;  // strides in words
  int32_t N = 0, H = 0, W = 0, C = 0, Cw = 0;
};

struct IView {  // int32 NHWC (test path)
  int32_t* data = nullptr;
  int64_t ns = 0, rs = 0, ps = 0;
};

// What happens to an output value after the accumulation.
//   EP_INT:    out_i = dot (after the zero-padding correction)
//   EP_FLOAT:  z = act(A * v + B (+ residual)); write z to out_f and/or
//              bit(z < pack_thr) to out_b
//   EP_THRESH: bit = (sgn * dot < T) to out_b (BN + sign folded to integers)
struct Epilogue {
  int32_t kind = EP_INT;
  int32_t OC = 0;
  const float* A = nullptr;  // [OC padded to the block]
  const float* B = nullptr;
  FView res;                 // residual (data == nullptr: none)
  int32_t act = ACT_NONE;
  float lo = -1.f, hi = 1.f;
  const float* slope = nullptr;  // PReLU slopes [OC padded]
  FView out_f;               // float output (data == nullptr: none)
  BView out_b;               // packed output (data == nullptr: none)
  const float* pack_thr = nullptr;  // [OC padded] sign threshold (x < thr -> bit 1)
  const int32_t* T = nullptr;       // EP_THRESH thresholds
  const int32_t* sgn = nullptr;     // EP_THRESH directions (+1 / -1)
  IView out_i;
};

struct BConvParams {
  BView in;                  // bordered input (border >= padding)
  int32_t OH = 0, OW = 0, OC = 0, OCB = 0;
  int32_t KH = 1, KW = 1, sh = 1, sw = 1, pt = 0, pl = 0, dh = 1, dw = 1;
  // The window is read as `ntaps` runs of `rlen` consecutive words: one run
  // per kernel row when the taps of a row are contiguous (dilation 1), else
  // one run per tap (rlen = Cw). Weights follow the same order.
  int32_t ntaps = 1, rlen = 1;
  const int64_t* tap_off = nullptr;  // word offset of each run from the window origin
  const uint64_t* w = nullptr;       // [OCB][ntaps * rlen][32]
  int32_t Kbits = 0;                 // C * KH * KW
  const int32_t* tapsum = nullptr;   // [ntaps][OCB*32] sum of weight signs per tap (zero padding)
  Epilogue ep;
};

struct ConvParams {  // fp32 convolution (stem, downsample, classifier)
  FView in;                 // bordered, zero-filled border
  int32_t OH = 0, OW = 0, OC = 0, OCB = 0;
  int32_t sh = 1, sw = 1, pt = 0, pl = 0;
  int32_t ntaps = 1, rlen = 1;      // runs of rlen consecutive floats (see BConvParams)
  const int64_t* tap_off = nullptr;  // float offset of each run from the window origin
  const float* w = nullptr;          // [OCB][ntaps * rlen][64]
  Epilogue ep;                       // kind EP_FLOAT
};

struct PackParams {
  FView in;
  BView out;
  const float* thr = nullptr;  // [C] or nullptr (threshold 0)
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Work items of a conv: pixel tiles x output-channel blocks (block-major, so a
// thread's consecutive items reuse one block of weights from L1).
inline int64_t bconv_items(const BConvParams& p) {
  return ceil_div(int64_t(p.in.N) * p.OH * p.OW, kBTile) * p.OCB;
}
inline int64_t conv_items(const ConvParams& p) {
  return ceil_div(int64_t(p.in.N) * p.OH * p.OW, kTile) * p.OCB;
}
inline int64_t pack_items(const PackParams& p) { return int64_t(p.in.N) * p.in.H * p.in.W; }

struct Kernels {
  const char* name;
  void (*bconv)(const BConvParams&, int64_t begin, int64_t end);
  void (*conv)(const ConvParams&, int64_t begin, int64_t end);
  void (*pack)(const PackParams&, int64_t begin, int64_t end);
};

// Defined in isa_*.cpp (only those compiled for this architecture exist).
extern const Kernels kPortable;
#if defined(DIRNET_X86)
extern const Kernels kAvx2;
extern const Kernels kAvx512;
#endif

}  // namespace dirnet
