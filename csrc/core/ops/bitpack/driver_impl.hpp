// The optimized sign packing: 32 channels per compare mask
// (mask_nge_f32x32 of the namespace), the last partial group bit by bit.
// Included inside an ISA namespace (see ops/shared/basics_impl.hpp) after
// the mask helpers.
#pragma once

#include "ops/shared/basics_impl.hpp"

// Items (pixels) [begin, end).
static void pack_range(const PackParams& p, int64_t begin, int64_t end) {
  const int64_t hw = int64_t(p.in.H) * p.in.W;
  const int C = p.in.C;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / hw, r = i % hw, y = r / p.in.W, x = r % p.in.W;
    const float* src = p.in.data + n * p.in.ns + y * p.in.rs + x * p.in.ps;
    uint64_t* dst = p.out.data + n * p.out.ns + y * p.out.rs + x * p.out.ps;
    for (int w = 0; w < p.out.Cw; ++w) {
      uint64_t word = 0;
      for (int h = 0; h < 2; ++h) {
        const int c0 = 64 * w + 32 * h;
        if (c0 >= C) break;
        uint32_t bits = 0;
        if (C - c0 >= 32) {
          bits = mask_nge_f32x32(src + c0, p.thr ? p.thr + c0 : kZeros32);
        } else {
          for (int c = 0; c < C - c0; ++c) {
            const float t = p.thr ? p.thr[c0 + c] : 0.f;
            bits |= uint32_t(!(src[c0 + c] >= t)) << c;
          }
        }
        word |= uint64_t(bits) << (32 * h);
      }
      dst[w] = word;
    }
  }
}
