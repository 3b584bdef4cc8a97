// Plain-data descriptors shared by every op and kernel path (no torch, no std
// templates). Each op's own parameters live beside its kernels, in
// ops/<family>/<family>_kernels.hpp.
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

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace dirnet
