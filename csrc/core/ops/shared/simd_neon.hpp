// Compare masks of the NEON paths (aarch64 ASIMD: compare, narrow to bytes,
// weight each byte by its bit and add pairwise; NEON has no movemask), used by
// the epilogue and by sign packing. Included inside an ISA namespace (see
// basics_impl.hpp) of a file built for aarch64 that included <arm_neon.h>.
#pragma once

#include "ops/shared/basics_impl.hpp"

// 32 lane masks (all ones / zero, channels 0..31 in order) -> 32 bits.
static inline uint32_t neon_movemask32(uint32x4_t c0, uint32x4_t c1, uint32x4_t c2, uint32x4_t c3,
                                       uint32x4_t c4, uint32x4_t c5, uint32x4_t c6, uint32x4_t c7) {
  const uint8x16_t lo = vcombine_u8(vmovn_u16(vcombine_u16(vmovn_u32(c0), vmovn_u32(c1))),
                                    vmovn_u16(vcombine_u16(vmovn_u32(c2), vmovn_u32(c3))));
  const uint8x16_t hi = vcombine_u8(vmovn_u16(vcombine_u16(vmovn_u32(c4), vmovn_u32(c5))),
                                    vmovn_u16(vcombine_u16(vmovn_u32(c6), vmovn_u32(c7))));
  // byte c keeps bit c % 8; three pairwise adds leave byte k = bits of channels 8k..8k+7
  const uint8x16_t bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  uint8x16_t s = vpaddq_u8(vandq_u8(lo, bit), vandq_u8(hi, bit));
  s = vpaddq_u8(s, s);
  s = vpaddq_u8(s, s);
  return vgetq_lane_u32(vreinterpretq_u32_u8(s), 0);
}

// Bit c set iff !(z[c] >= t[c]) (so NaN packs as -1), c < 32.
static inline uint32_t mask_nge_f32x32(const float* z, const float* t) {
  uint32x4_t c[8];
  for (int i = 0; i < 8; ++i) c[i] = vmvnq_u32(vcgeq_f32(vld1q_f32(z + 4 * i), vld1q_f32(t + 4 * i)));
  return neon_movemask32(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
}

// Bit c set iff a[c] < b[c], c < 32.
static inline uint32_t mask_lt_i32x32(const int32_t* a, const int32_t* b) {
  uint32x4_t c[8];
  for (int i = 0; i < 8; ++i) c[i] = vcltq_s32(vld1q_s32(a + 4 * i), vld1q_s32(b + 4 * i));
  return neon_movemask32(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
}
