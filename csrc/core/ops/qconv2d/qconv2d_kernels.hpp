// int8 convolution kernels (file ops `qconv2d` / `qlinear`: the stem, 1x1
// downsample convs and the classifier of an int8 export): parameters, the
// kernel table and the selector.
//
// The arithmetic (docs/deploy.md, "int8"): weights w_q in [-127, 127] per
// output channel (scale s_w[oc]), the input quantized per tensor,
//   x_q = clamp(round_half_even(x * r), -127, 127),  r = 1 / s_x (fp32),
// (the clamp happens in float, before the conversion; NaN becomes -127),
//   acc = sum over taps and channels of x_q * w_q   (int32, exact),
// then the float epilogue of the fp32 conv on v = float(acc) with
// A = (BN scale) * s_x * s_w[oc] folded by the planner (ops/shared/epilogue_impl.hpp).
// Every variant computes the same int32 sum, so all of them agree with
// `reference` bit for bit.
//
// The optimized variants quantize the input into a bordered buffer of
// u = x_q + 128 (u8 or int16; the border holds 128, i.e. x_q = 0) and
// accumulate u * w_q, starting from corr[oc] = -128 * sum_k w_q[oc][k]:
// sum (x_q + 128) w_q - 128 sum w_q = sum x_q w_q exactly. u8 x s8 is what
// VPDPBUSD multiplies.
//
//   reference.cpp     plain loops: quantizes on the fly from the float input
//   portable.cpp      u8 buffer, scalar loops over 64 output channels
//   avx2.cpp          int16 buffer, VPMADDWD (AVX2 without VNNI)
//   avx2_vnni.cpp     u8 buffer, VPDPBUSD on ymm (AVX-VNNI)
//   avx512.cpp        int16 buffer, VPMADDWD on zmm (AVX-512 without VNNI)
//   avx512_vnni.cpp   u8 buffer, VPDPBUSD on zmm (AVX-512 VNNI)
//   neon.cpp          s8 buffer (x_q itself, no offset), SMULL + SADALP (aarch64)
//   neon_dotprod.cpp  s8 buffer, SDOT (aarch64 with the dot-product extension)
//
// Window runs: as in the fp32 conv, a kernel row is one run of KW * C
// consecutive elements when the dilation is 1 (else one run per tap). Runs are
// padded to a multiple of 4 elements (rlen4); the weights of the padding
// positions are 0, so whatever finite value the buffer holds there (the next
// pixel, the border, or the slack after the buffer) adds nothing.
#pragma once

#include <string>
#include <vector>

#include "common.hpp"

namespace dirnet {

// Largest C * KH * KW: sum |u * w| <= K * 255 * 127 must stay below 2^31.
constexpr int64_t kQMaxK = 65536;

struct QConvParams {
  FView in;                  // the float input (interior)
  float inv_scale = 1.f;     // r = 1 / s_x
  // the quantized copy (optimized variants): elements of 1 or 2 bytes
  void* q = nullptr;         // interior origin
  int64_t qns = 0, qrs = 0, qps = 0;  // strides in elements
  int32_t OH = 0, OW = 0, OC = 0, OCB = 0;   // OCB: blocks of 64 output channels
  int32_t C = 0, KH = 1, KW = 1, sh = 1, sw = 1, pt = 0, pl = 0, dh = 1, dw = 1;
  int32_t ntaps = 1, rlen = 1, rlen4 = 4;    // runs per window, their length and padded length
  const int64_t* tap_off = nullptr;          // element offset of each run from the window origin
  const void* w = nullptr;    // packed weights (layout of the variant)
  const int32_t* corr = nullptr;  // [OCB * 64]: -128 * sum of each output channel's weights
  const int8_t* wref = nullptr;   // reference: [OC][KH][KW][C]
  Epilogue ep;                    // kind EP_FLOAT, A with the dequantization folded in
};

// Packed weight layouts of the optimized variants (Kg = ntaps * rlen4 / 4):
//   QW_S8:  int8  [OCB][Kg][64][4]      (4 consecutive k of one output channel)
//   QW_S16: int16 [OCB][Kg][2][64][2]   (the same, as two pairs for VPMADDWD)
enum QWeightLayout : int { QW_NONE = 0, QW_S8 = 1, QW_S16 = 2 };

struct QConv2dKernel {
  const char* path;     // dispatch path name
  const char* variant;  // e.g. "avx512_vnni"
  // quantized buffer element: 1 (u8 = x_q + 128), 2 (int16 = x_q + 128), -1
  // (int8 = x_q: signed products, no offset, corr = 0); 0: none (reference)
  int act_bytes;
  int wlayout;          // QWeightLayout
  bool (*supported)();  // does this CPU run it
  int64_t (*items)(const QConvParams&);
  // Quantizes rows [begin, end) (row = n * H + y) of the input into q.
  void (*quantize)(const QConvParams&, int64_t begin, int64_t end);
  void (*run)(const QConvParams&, int64_t begin, int64_t end);
};

// The best variant of `path` this CPU runs; std::invalid_argument if none.
const QConv2dKernel& qconv2d_kernel(const std::string& path);
// Every variant of this build (tests call each one the CPU supports).
const std::vector<const QConv2dKernel*>& qconv2d_variants();

// Work items of the tiled variants: tiles of `tile` output pixels x blocks of 64 channels.
inline int64_t qconv2d_tiles(const QConvParams& p, int tile) {
  return ceil_div(int64_t(p.in.N) * p.OH * p.OW, tile) * p.OCB;
}

// The per-variant entry points (qconv2d/<file>.cpp).
int64_t qconv2d_reference_items(const QConvParams& p);
void qconv2d_reference(const QConvParams& p, int64_t begin, int64_t end);
int64_t qconv2d_portable_items(const QConvParams& p);
void qconv2d_portable_quantize(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_portable(const QConvParams& p, int64_t begin, int64_t end);
#if defined(DIRNET_X86)
int64_t qconv2d_avx2_items(const QConvParams& p);
void qconv2d_avx2_quantize16(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_avx2_quantize8(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_avx2(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_avx2_vnni(const QConvParams& p, int64_t begin, int64_t end);
int64_t qconv2d_avx512_items(const QConvParams& p);
void qconv2d_avx512_quantize16(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_avx512_quantize8(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_avx512(const QConvParams& p, int64_t begin, int64_t end);
void qconv2d_avx512_vnni(const QConvParams& p, int64_t begin, int64_t end);
#endif
#if defined(DIRNET_ARM64)
int64_t qconv2d_neon_items(const QConvParams& p);
void qconv2d_neon_quantize(const QConvParams& p, int64_t begin, int64_t end);  // int8 x_q
void qconv2d_neon(const QConvParams& p, int64_t begin, int64_t end);
int64_t qconv2d_neon_dotprod_items(const QConvParams& p);
void qconv2d_neon_dotprod(const QConvParams& p, int64_t begin, int64_t end);
#endif

}  // namespace dirnet
