// Sign packing (float NHWC -> packed bits): parameters and the selector.
//
//   reference.cpp  one channel at a time
//   portable.cpp, avx2.cpp, avx512.cpp, neon.cpp   32 channels per compare mask
//
// Bit c of a pixel = !(x[c] >= thr[c]) (thr 0 when none): sign(0) = +1, NaN
// packs as -1; every word of the pixel is written, channel-padding bits 0.
#pragma once

#include <string>

#include "common.hpp"
#include "ops/op_kernel.hpp"

namespace dirnet {

struct PackParams {
  FView in;
  BView out;
  const float* thr = nullptr;  // [C] or nullptr (threshold 0)
};

using BitpackKernel = OpKernel<PackParams>;

// The kernel of `path` (a name of dispatch.hpp); std::invalid_argument if none.
const BitpackKernel& bitpack_kernel(const std::string& path);

// Work items of every path: pixels.
inline int64_t bitpack_items(const PackParams& p) { return int64_t(p.in.N) * p.in.H * p.in.W; }

// The per-path kernels (bitpack/<path>.cpp), for the selector.
void bitpack_reference(const PackParams& p, int64_t begin, int64_t end);
void bitpack_portable(const PackParams& p, int64_t begin, int64_t end);
#if defined(DIRNET_X86)
void bitpack_avx2(const PackParams& p, int64_t begin, int64_t end);
void bitpack_avx512(const PackParams& p, int64_t begin, int64_t end);
#endif
#if defined(DIRNET_ARM64)
void bitpack_neon(const PackParams& p, int64_t begin, int64_t end);
#endif

}  // namespace dirnet
