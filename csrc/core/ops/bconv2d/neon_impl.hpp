// The micro-kernel of the NEON binary convolutions (neon.cpp: ARMv8.0 ASIMD;
// neon_dotprod.cpp: + UDOT), written once: popcounts of M pixels x 16 output
// channels per pass (two passes per 32-channel block), for the generic driver
// (driver_impl.hpp: tiles, zero-padding correction, epilogue).
//
// Weights are [K words][32 channels], so one 128-bit register holds one word
// of two channels, and the pixel's word is broadcast to both lanes (LD1R).
// Per pixel, per input word, for 16 channels:
//   8 x EOR, 8 x CNT (popcount per byte: 8 bytes per channel), then
//   4 x ADDP.16B (pairwise byte adds: 4 bytes per channel, 4 channels per register),
// and the accumulation, where the two files differ (DIRNET_BCONV_UDOT):
//   neon:      2 x ADDP.16B more (2 bytes per channel, 8 channels per register)
//              + 2 x UADALP (pairwise add-accumulate into 8 x 16-bit lanes);
//              the 16-bit counters gain at most 64 per word, so they are
//              widened into 32-bit totals every kFlushWords words;
//   neon_dot:  4 x UDOT against a vector of ones (4 bytes -> one 32-bit lane
//              per channel), no widening step and no flush.
// Either way 24 ALU instructions per 1,024 binary MACs (16 channels x 64
// bits), 3 per 128-bit XOR, plus the loads: 8 weight registers per word shared
// by the M pixels, one LD1R per pixel per word.
//
// Included inside an ISA namespace (see ops/shared/basics_impl.hpp) of a file
// that included <arm_neon.h> and defined DIRNET_BCONV_UDOT (0 or 1) and
// kNeonM (pixels per pass; limited by the 32 vector registers).
#pragma once

#if DIRNET_BCONV_UDOT
using NeonAcc = uint32x4_t;           // 4 channels per register
constexpr int kAccRegs = 4;           // per pixel, 16 channels
#else
using NeonAcc = uint16x8_t;           // 8 channels per register
constexpr int kAccRegs = 2;
constexpr int kFlushWords = 1023;     // 1023 * 64 < 65536
#endif

// pop[j][l] += popcount(window of pixel j XOR weights of channel l), l < 16,
// for the 16 channels whose weights start at wb (row stride 32 words).
template <int M>
static inline void bconv_pass(const uint64_t* const* base, const int64_t* tap_off, int ntaps, int Cw,
                              const uint64_t* wb, uint32_t (*pop)[16]) {
  NeonAcc acc[M][kAccRegs];
#pragma GCC unroll 4
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int r = 0; r < kAccRegs; ++r) acc[j][r] = NeonAcc{};
#if DIRNET_BCONV_UDOT
  const uint8x16_t ones = vdupq_n_u8(1);
#else
  int left = kFlushWords;
#endif
  for (int t = 0; t < ntaps; ++t) {
    const uint64_t* ptr[M];
#pragma GCC unroll 4
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int c = 0; c < Cw; ++c) {
      uint64x2_t w[8];
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) w[k] = vld1q_u64(wb + 2 * k);
      wb += 32;
#pragma GCC unroll 4
      for (int j = 0; j < M; ++j) {
        const uint64x2_t a = vld1q_dup_u64(ptr[j] + c);
        uint8x16_t q[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k)
          q[k] = vpaddq_u8(vcntq_u8(vreinterpretq_u8_u64(veorq_u64(a, w[2 * k]))),
                           vcntq_u8(vreinterpretq_u8_u64(veorq_u64(a, w[2 * k + 1]))));
#if DIRNET_BCONV_UDOT
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) acc[j][k] = vdotq_u32(acc[j][k], q[k], ones);
#else
        acc[j][0] = vpadalq_u8(acc[j][0], vpaddq_u8(q[0], q[1]));
        acc[j][1] = vpadalq_u8(acc[j][1], vpaddq_u8(q[2], q[3]));
#endif
      }
#if !DIRNET_BCONV_UDOT
      if (--left == 0) {  // widen before a 16-bit counter could wrap (K > 65,472 bits only)
        left = kFlushWords;
#pragma GCC unroll 4
        for (int j = 0; j < M; ++j) {
#pragma GCC unroll 2
          for (int r = 0; r < 2; ++r) {
            vst1q_u32(pop[j] + 8 * r, vaddw_u16(vld1q_u32(pop[j] + 8 * r), vget_low_u16(acc[j][r])));
            vst1q_u32(pop[j] + 8 * r + 4, vaddw_high_u16(vld1q_u32(pop[j] + 8 * r + 4), acc[j][r]));
            acc[j][r] = NeonAcc{};
          }
        }
      }
#endif
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < M; ++j) {
#if DIRNET_BCONV_UDOT
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) vst1q_u32(pop[j] + 4 * k, vaddq_u32(vld1q_u32(pop[j] + 4 * k), acc[j][k]));
#else
#pragma GCC unroll 2
    for (int r = 0; r < 2; ++r) {
      vst1q_u32(pop[j] + 8 * r, vaddw_u16(vld1q_u32(pop[j] + 8 * r), vget_low_u16(acc[j][r])));
      vst1q_u32(pop[j] + 8 * r + 4, vaddw_high_u16(vld1q_u32(pop[j] + 8 * r + 4), acc[j][r]));
    }
#endif
  }
}

// bconv_pass for mm (1..M) pixels.
template <int M>
static inline void bconv_pass_upto(int mm, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                   int Cw, const uint64_t* wb, uint32_t (*pop)[16]) {
  if constexpr (M > 1) {
    if (mm < M) return bconv_pass_upto<M - 1>(mm, base, tap_off, ntaps, Cw, wb, pop);
  }
  bconv_pass<M>(base, tap_off, ntaps, Cw, wb, pop);
}

// The micro-kernel of driver_impl.hpp: int32 dots of m pixels x 32 channels.
static inline void bconv_tile_m(int m, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                int Cw, const uint64_t* wb, int32_t* dots, int32_t Kbits) {
  for (int j0 = 0; j0 < m; j0 += kNeonM) {
    const int mm = m - j0 < kNeonM ? m - j0 : kNeonM;
    for (int half = 0; half < 2; ++half) {
      uint32_t pop[kNeonM][16] = {};
      bconv_pass_upto<kNeonM>(mm, base + j0, tap_off, ntaps, Cw, wb + 16 * half, pop);
      for (int j = 0; j < mm; ++j)
        for (int l = 0; l < 16; ++l) dots[(j0 + j) * 32 + 16 * half + l] = Kbits - 2 * int32_t(pop[j][l]);
    }
  }
}
