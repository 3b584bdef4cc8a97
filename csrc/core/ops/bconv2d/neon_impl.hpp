// The micro-kernel of the NEON binary convolutions (neon.cpp: ARMv8.0 ASIMD;
// neon_dotprod.cpp: + UDOT), written once: popcounts of kNeonM pixels x
// kNeonCh output channels per pass, for the generic driver (driver_impl.hpp:
// tiles, zero-padding correction, epilogue).
//
// Weights are [K words][32 channels], so one 128-bit register holds one word
// of two channels, and the pixel's word is broadcast to both lanes (LD1R).
// Per pixel, per input word, per 16 channels:
//   8 x EOR, 8 x CNT (popcount per byte: 8 bytes per channel), then
//   4 x ADDP.16B (pairwise byte adds: 4 bytes per channel, 4 channels per register),
// and the accumulation, where the two files differ (DIRNET_BCONV_UDOT):
//   neon:      2 x ADDP.16B more (2 bytes per channel, 8 channels per register)
//              + 2 x UADALP (pairwise add-accumulate into 8 x 16-bit lanes);
//              the 16-bit counters gain at most 64 per word, so they are
//              widened into 32-bit totals every kFlushWords words;
//   neon_dot:  4 x UDOT against a vector of ones (4 bytes -> one 32-bit lane
//              per channel), no widening step and no flush.
// Either way 24 SIMD ALU instructions per 1,024 binary MACs (16 channels x 64
// bits), 3 per 128-bit XOR, plus the loads: kNeonCh / 2 weight registers per
// word shared by the pass's pixels, one LD1R per pixel per word. neon runs 3
// pixels x 16 channels, neon_dot 3 pixels x 8 (its 32-bit counters take twice
// the registers; 16 channels spill). tools/neon_loop_count.py counts the
// compiled loops (docs/deploy.md, "ARM64").
//
// Included inside an ISA namespace (see ops/shared/basics_impl.hpp) of a file
// that included <arm_neon.h> and defined DIRNET_BCONV_UDOT (0 or 1), kNeonM
// and kNeonCh (8 or 16).
#pragma once

constexpr int kNW = kNeonCh / 2;      // weight registers per pass (2 channels each)
#if DIRNET_BCONV_UDOT
using NeonAcc = uint32x4_t;           // 4 channels per register
constexpr int kAccRegs = kNeonCh / 4; // per pixel
#else
using NeonAcc = uint16x8_t;           // 8 channels per register
constexpr int kAccRegs = kNeonCh / 8;
constexpr int kFlushWords = 1023;     // 1023 * 64 < 65536
#endif
static_assert(kNeonCh == 8 || kNeonCh == 16, "8 or 16 channels per pass");

// The pixel's word in both lanes, by DUP from a general register (the word
// loaded by a scalar LDR). Written as asm: from vld1q_dup_u64 GCC 12 emits LDR
// d + DUP (element) or LD1R, which take a slot of the two ASIMD pipes the loop
// is bound by, where the Cortex-A76 issues DUP (general) to its integer
// multi-cycle pipe (on the A72 all three forms take an ASIMD slot).
static inline uint64x2_t dup_gpr(uint64_t x) {
  uint64x2_t v;
  asm("dup %0.2d, %1" : "=w"(v) : "r"(x));
  return v;
}

#if !DIRNET_BCONV_UDOT
static inline void widen_into(uint32_t* pop, NeonAcc a) {
  vst1q_u32(pop, vaddw_u16(vld1q_u32(pop), vget_low_u16(a)));
  vst1q_u32(pop + 4, vaddw_high_u16(vld1q_u32(pop + 4), a));
}
#endif

// pop[j][l] += popcount(window of pixel j XOR weights of channel l), l < kNeonCh,
// for the channels whose weights start at wb (row stride 32 words).
template <int M>
static inline void bconv_pass(const uint64_t* const* base, const int64_t* tap_off, int ntaps, int Cw,
                              const uint64_t* wb, uint32_t (*pop)[kNeonCh]) {
  NeonAcc acc[M][kAccRegs];
#pragma GCC unroll 8
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
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) ptr[j] = base[j] + tap_off[t];
    for (int c = 0; c < Cw; ++c) {
      uint64x2_t w[kNW];
#pragma GCC unroll 8
      for (int k = 0; k < kNW; ++k) w[k] = vld1q_u64(wb + 2 * k);
      wb += 32;
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) {
        const uint64x2_t a = dup_gpr(ptr[j][c]);
        uint8x16_t q[kNW / 2];
#pragma GCC unroll 4
        for (int k = 0; k < kNW / 2; ++k)
          q[k] = vpaddq_u8(vcntq_u8(vreinterpretq_u8_u64(veorq_u64(a, w[2 * k]))),
                           vcntq_u8(vreinterpretq_u8_u64(veorq_u64(a, w[2 * k + 1]))));
#if DIRNET_BCONV_UDOT
#pragma GCC unroll 4
        for (int k = 0; k < kAccRegs; ++k) acc[j][k] = vdotq_u32(acc[j][k], q[k], ones);
#else
#pragma GCC unroll 2
        for (int k = 0; k < kAccRegs; ++k) acc[j][k] = vpadalq_u8(acc[j][k], vpaddq_u8(q[2 * k], q[2 * k + 1]));
#endif
      }
#if !DIRNET_BCONV_UDOT
      if (--left == 0) {  // widen before a 16-bit counter could wrap (K > 65,472 bits only)
        left = kFlushWords;
#pragma GCC unroll 8
        for (int j = 0; j < M; ++j)
#pragma GCC unroll 2
          for (int r = 0; r < kAccRegs; ++r) {
            widen_into(pop[j] + 8 * r, acc[j][r]);
            acc[j][r] = NeonAcc{};
          }
      }
#endif
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j)
#pragma GCC unroll 4
    for (int r = 0; r < kAccRegs; ++r) {
#if DIRNET_BCONV_UDOT
      vst1q_u32(pop[j] + 4 * r, vaddq_u32(vld1q_u32(pop[j] + 4 * r), acc[j][r]));
#else
      widen_into(pop[j] + 8 * r, acc[j][r]);
#endif
    }
}

// bconv_pass for mm (1..M) pixels.
template <int M>
static inline void bconv_pass_upto(int mm, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                   int Cw, const uint64_t* wb, uint32_t (*pop)[kNeonCh]) {
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
    for (int g = 0; g < 32; g += kNeonCh) {
      uint32_t pop[kNeonM][kNeonCh] = {};
      bconv_pass_upto<kNeonM>(mm, base + j0, tap_off, ntaps, Cw, wb + g, pop);
      for (int j = 0; j < mm; ++j)
        for (int l = 0; l < kNeonCh; ++l) dots[(j0 + j) * 32 + g + l] = Kbits - 2 * int32_t(pop[j][l]);
    }
  }
}
