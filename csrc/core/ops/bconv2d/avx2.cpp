// Binary conv, AVX2 path: popcount by pshufb nibble lookup on nibbles split
// ahead of the XOR. Built with -mavx2 -mfma -mpopcnt (see CMakeLists.txt).
//
// AVX2 has no vector popcount. The textbook pshufb popcount of x = a ^ w costs
// 8 vector operations per register of 4 channels x 64 bits (xor, and, shift,
// and, 2 pshufb, 2 adds). Here the nibbles are split before the XOR instead:
// (a ^ w) & 0x0f.. = (a & 0x0f..) ^ (w & 0x0f..), likewise for the high
// nibbles. Each window word of a tile is split once (split_windows), each
// weight block once per block and call (split_weights; a thread's items run
// tile after tile of one block), so the inner loop spends per pixel, 4
// channels and 64 bits (256 binary MACs)
//   xor, xor (each with a memory operand), pshufb, pshufb, add, add
// plus two loads of split weights shared by 6 pixels. (Windows longer than
// kMaxSplitK words split the weights in the loop: load, and, shift, and.)
// The split words are stored already broadcast to 4 lanes: with a
// vpbroadcastq in the loop, as the old kernel had, the same loop was no
// faster than the old one on the dev machine's Zen 5 (where vpaddb / vpxor
// run at twice the rate of pshufb, and the broadcast appears to compete with
// pshufb for the shuffle units). Byte counters take at most 8 per word: the window is
// processed in passes of 31 words, psadbw summing each 64-bit lane (one
// channel) after a pass.
//
// Weighed and not taken: carry-save (Harley-Seal) accumulation, which saves
// popcounts at about 5 logic operations per CSA: with the lookup down to
// pshufb + add per nibble half, a CSA of three words costs more than the
// lookups it removes. Register tile: 6 pixels x 4 channels (6 byte
// accumulators, the lookup table, the nibble mask, 2 weight halves, temporaries);
// 8 such passes per 32-channel block re-read the split windows from L1.
#include "ops/bconv2d/bconv2d_kernels.hpp"

#include <immintrin.h>

#include <type_traits>

namespace dirnet {
namespace bconv2d_avx2_isa {

#include "ops/shared/simd_avx2.hpp"

constexpr int kChunk = 31;  // window words per pass: a byte counter takes at most 8 per word
constexpr int kPix = kChunk + 1;  // split words per pixel in the buffers

// Words [k0, k0 + n) of the windows of M pixels (K = ntaps * rlen words each,
// tap-major like the weights), nibble-split and broadcast to 4 lanes:
// lo[j * kPix + i] = word k0 + i of pixel j's window & 0x0f.., hi[...] the
// same of the word shifted right by 4.
template <int M>
static inline void split_windows(const uint64_t* const* base, const int64_t* tap_off, int rlen, int64_t k0, int n,
                                 __m256i* lo, __m256i* hi) {
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  int64_t t = k0 / rlen, c = k0 % rlen;
  for (int i = 0; i < n; ++t, c = 0) {  // one run of consecutive words at a time, for every pixel
    const int len = int(rlen - c < n - i ? rlen - c : n - i);
    const int64_t off = tap_off[t] + c;
#pragma GCC unroll 1
    for (int j = 0; j < M; ++j) {
      const uint64_t* src = base[j] + off;
      __m256i* l = lo + j * kPix + i;
      __m256i* h = hi + j * kPix + i;
      for (int q = 0; q < len; ++q) {
        const __m256i a = _mm256_set1_epi64x(static_cast<long long>(src[q]));
        _mm256_store_si256(l + q, _mm256_and_si256(a, m4));
        _mm256_store_si256(h + q, _mm256_and_si256(_mm256_srli_epi16(a, 4), m4));
      }
    }
    i += len;
  }
}

// dots[j * kBlk + l] -= 2 * popcount(words [0, n) of split window j XOR
// weights of channel l) for M pixels and the 4 channels of the weight column w
// (word i of channel l at w[i * kBlk + l]), n <= 31; dots 16-byte aligned.
// PRE: the weights come split already (split_weights; ws[i * 16] and
// ws[i * 16 + 1] the low and high nibbles of word i), w is unused.
template <int M, bool PRE>
__attribute__((always_inline)) static inline void pop_m4(const __m256i* lo, const __m256i* hi, int n,
                                                         const uint64_t* w, const __m256i* ws, int32_t* dots) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2,
                                       3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  __m256i acc[M];
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) acc[j] = zero;
#pragma GCC unroll 2
  for (int i = 0; i < n; ++i) {
    __m256i wl, wh;
    if (PRE) {
      wl = _mm256_load_si256(ws + i * 16);
      wh = _mm256_load_si256(ws + i * 16 + 1);
    } else {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + int64_t(i) * kBlk));
      wl = _mm256_and_si256(wv, m4);
      wh = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m4);
    }
#pragma GCC unroll 8
    for (int j = 0; j < M; ++j) {
      // xor with a memory operand: no broadcast (a shuffle-port op) in the loop
      const __m256i pl = _mm256_shuffle_epi8(lut, _mm256_xor_si256(wl, lo[j * kPix + i]));
      const __m256i ph = _mm256_shuffle_epi8(lut, _mm256_xor_si256(wh, hi[j * kPix + i]));
      acc[j] = _mm256_add_epi8(_mm256_add_epi8(pl, ph), acc[j]);
    }
  }
  // dot -= 2 * popcount: psadbw sums the bytes of each 64-bit lane (one
  // channel), the low halves of the lanes gathered into 4 int32
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
#pragma GCC unroll 8
  for (int j = 0; j < M; ++j) {
    const __m256i c = _mm256_permutevar8x32_epi32(_mm256_sad_epu8(acc[j], zero), even);
    const __m128i c2 = _mm_add_epi32(_mm256_castsi256_si128(c), _mm256_castsi256_si128(c));
    __m128i* d = reinterpret_cast<__m128i*>(dots + j * kBlk);
    _mm_store_si128(d, _mm_sub_epi32(_mm_load_si128(d), c2));
  }
}

// dots of M pixels x 32 channels, the windows split kChunk words at a time.
template <int M, bool PRE>
static void tile_dots(const uint64_t* const* base, const int64_t* tap_off, int ntaps, int rlen,
                      const uint64_t* wb, const __m256i* ws, int32_t* dots, int32_t Kbits) {
  __m256i lo[M * kPix], hi[M * kPix];
  const __m256i kv = _mm256_set1_epi32(Kbits);
#pragma GCC unroll 8
  for (int j = 0; j < M * kBlk / 8; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(dots) + j, kv);
  const int64_t K = int64_t(ntaps) * rlen;
  for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
    const int n = int(K - k0 < kChunk ? K - k0 : kChunk);
    split_windows<M>(base, tap_off, rlen, k0, n, lo, hi);
    const uint64_t* w = wb + k0 * kBlk;
    for (int v = 0; v < kBlk / 4; ++v)
      pop_m4<M, PRE>(lo, hi, n, w + v * 4, PRE ? ws + (k0 * 8 + v) * 2 : nullptr, dots + v * 4);
  }
}

template <bool PRE>
static inline void tile_dots_m(int m, const uint64_t* const* base, const int64_t* tap_off, int ntaps, int rlen,
                               const uint64_t* wb, const __m256i* ws, int32_t* dots, int32_t Kbits) {
  for (int j0 = 0; j0 < m; j0 += 6) {
    const uint64_t* const* b = base + j0;
    int32_t* d = dots + j0 * kBlk;
    switch (m - j0) {
      case 1: tile_dots<1, PRE>(b, tap_off, ntaps, rlen, wb, ws, d, Kbits); break;
      case 2: tile_dots<2, PRE>(b, tap_off, ntaps, rlen, wb, ws, d, Kbits); break;
      case 3: tile_dots<3, PRE>(b, tap_off, ntaps, rlen, wb, ws, d, Kbits); break;
      case 4: tile_dots<4, PRE>(b, tap_off, ntaps, rlen, wb, ws, d, Kbits); break;
      case 5: tile_dots<5, PRE>(b, tap_off, ntaps, rlen, wb, ws, d, Kbits); break;
      default: tile_dots<6, PRE>(b, tap_off, ntaps, rlen, wb, ws, d, Kbits); break;
    }
  }
}

// The int32 dots of m pixels x 32 channels: K = ntaps * rlen weight words at
// wb ([K][32]), split ahead in ws (split_weights) or, when ws is null, in the loop.
static inline void bconv_tile_m(int m, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                int rlen, const uint64_t* wb, const __m256i* ws, int32_t* dots, int32_t Kbits) {
  if (ws) tile_dots_m<true>(m, base, tap_off, ntaps, rlen, wb, ws, dots, Kbits);
  else tile_dots_m<false>(m, base, tap_off, ntaps, rlen, wb, nullptr, dots, Kbits);
}

// Windows of at most this many words have their block's weights split once
// per block and call (36 KB of stack; 3x3 windows up to 512 channels), not
// once per tile in the loop: a thread's items run tile after tile of one block.
constexpr int kMaxSplitK = 72;

// ws[(k * 8 + v) * 2] / [... + 1]: low / high nibbles of word k of the
// channels 4v .. 4v + 3 of a weight block wb ([K][32] words).
static inline void split_weights(const uint64_t* wb, int64_t K, __m256i* ws) {
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  for (int64_t i = 0; i < K * 8; ++i) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + i * 4));
    _mm256_store_si256(ws + 2 * i, _mm256_and_si256(w, m4));
    _mm256_store_si256(ws + 2 * i + 1, _mm256_and_si256(_mm256_srli_epi16(w, 4), m4));
  }
}

#include "ops/bconv2d/zero_pad_impl.hpp"
#include "ops/shared/epilogue_impl.hpp"
#include "ops/shared/tiles_impl.hpp"

// ------------------------------------------------------------------------
// The float epilogue of a full 32-channel block, 8 channels per register,
// instantiated per (activation, residual, outputs): the generic
// epilogue_tile's scalar-shaped loops and per-channel branches cost about a
// fifth of a 64-channel layer's instructions. Same float operations in the
// same order as epilogue_tile (fma, + residual, activation, !(z >= thr)), so
// every path stays bit-identical; VMAXPS/VMINPS return their second operand
// on NaN, which gives the scalar `z < lo ? lo : z` and `t > hi ? hi : t`.

#include "ops/shared/epilogue_cfg_impl.hpp"

// What the fused epilogue reads of one 32-channel block, copied out of the
// Epilogue once per block: a vector store may alias anything, so fields read
// through `ep` after a store would be reloaded for every pixel.
struct FusedBlk {
  const float *A, *B, *thr, *slope;  // at the block's first channel
  const float* res;                  // residual / float output / packed output at pixel (0, 0, 0)
  float* outf;
  uint64_t* outb;
  int64_t rns, rrs, rps, fns, frs, fps, bns, brs, bps;
  int oc;
  bool clear_hi;  // block ends in the low half of the last word: zero the high half
  float lo, hi;
};

__attribute__((always_inline)) static inline FusedBlk fused_blk(const Epilogue& ep, int oc) {
  FusedBlk f;
  f.A = ep.A + oc;
  f.B = ep.B + oc;
  f.thr = ep.pack_thr ? ep.pack_thr + oc : kZeros32;
  f.slope = ep.slope ? ep.slope + oc : nullptr;
  f.res = ep.res.data ? ep.res.data + oc : nullptr;
  f.rns = ep.res.ns; f.rrs = ep.res.rs; f.rps = ep.res.ps;
  f.outf = ep.out_f.data ? ep.out_f.data + oc : nullptr;
  f.fns = ep.out_f.ns; f.frs = ep.out_f.rs; f.fps = ep.out_f.ps;
  f.outb = ep.out_b.data;
  f.bns = ep.out_b.ns; f.brs = ep.out_b.rs; f.bps = ep.out_b.ps;
  f.oc = oc;
  f.clear_hi = ((oc >> 5) & 1) == 0 && oc + 32 >= ep.OC && (oc >> 6) < ep.out_b.Cw;
  f.lo = ep.lo;
  f.hi = ep.hi;
  return f;
}

template <class Cfg>
__attribute__((always_inline)) static inline void fused_pixel(const FusedBlk& f, const int32_t* d, int64_t n,
                                                              int64_t y, int64_t x) {
  const float* r = Cfg::res ? f.res + n * f.rns + y * f.rrs + x * f.rps : nullptr;
  float* o = Cfg::outf ? f.outf + n * f.fns + y * f.frs + x * f.fps : nullptr;
  uint64_t* pix = Cfg::outb ? f.outb + n * f.bns + y * f.brs + x * f.bps : nullptr;
  const __m256 lo = _mm256_set1_ps(f.lo), hi = _mm256_set1_ps(f.hi), zero = _mm256_setzero_ps();
  uint32_t bits = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m256i di = _mm256_load_si256(reinterpret_cast<const __m256i*>(d + 8 * i));
    __m256 z = _mm256_fmadd_ps(_mm256_loadu_ps(f.A + 8 * i), _mm256_cvtepi32_ps(di), _mm256_loadu_ps(f.B + 8 * i));
    if (Cfg::res) z = _mm256_add_ps(z, _mm256_loadu_ps(r + 8 * i));
    if (Cfg::act == ACT_HARDTANH) {
      z = _mm256_min_ps(hi, _mm256_max_ps(lo, z));
    } else if (Cfg::act == ACT_RELU) {
      z = _mm256_max_ps(z, zero);
    } else if (Cfg::act == ACT_PRELU) {
      const __m256 ge = _mm256_cmp_ps(z, zero, _CMP_GE_OQ);
      z = _mm256_blendv_ps(_mm256_mul_ps(z, _mm256_loadu_ps(f.slope + 8 * i)), z, ge);
    }
    if (Cfg::outf) _mm256_storeu_ps(o + 8 * i, z);
    if (Cfg::outb)
      bits |= uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(z, _mm256_loadu_ps(f.thr + 8 * i), _CMP_NGE_UQ))) << (8 * i);
  }
  if (Cfg::outb) {
    put_bits32(pix, f.oc, bits);
    if (f.clear_hi) put_bits32(pix, f.oc + 32, 0u);
  }
}

// Items [begin, end) of bconv2d_tile_items: int32 dots of a tile
// (bconv_tile_m), the zero-padding correction, then the epilogue: fused_pixel
// for full blocks of a float epilogue, else the generic epilogue_tile
// (Cfg = void: always). The generic driver (driver_impl.hpp) with the fused
// epilogue added.
template <class Cfg>
static void bconv_range_cfg(const BConvParams& p, int64_t begin, int64_t end) {
  const int64_t kw = int64_t(p.ntaps) * p.rlen;
  const int ocp = p.OCB * kBlk;
  alignas(64) int32_t dots[kBTile * kBlk];
  const uint64_t* base[kBTile];
  int32_t pn[kBTile], py[kBTile], px[kBTile];
  alignas(32) __m256i ws[kMaxSplitK * 16];
  const bool pre = kw <= kMaxSplitK;
  int64_t ws_ocb = -1, fb_ocb = -1;
  FusedBlk fb;
  TileWalk<kBTile> walk(begin, p.in.N, p.OH, p.OW);
  for (int64_t it = begin; it < end; ++it) {
    int64_t ocb;
    const int m = walk.next(pn, py, px, ocb);
    const uint64_t* wb = p.w + ocb * kw * kBlk;
    if (pre && ocb != ws_ocb) {
      split_weights(wb, kw, ws);
      ws_ocb = ocb;
    }
    window_origins(p, m, pn, py, px, base);
    bconv_tile_m(m, base, p.tap_off, p.ntaps, p.rlen, wb, pre ? ws : nullptr, dots, p.Kbits);
    const int oc0 = int(ocb) * kBlk;
    if (p.tapsum) {
      for (int j = 0; j < m; ++j) {
        if (window_inside(p, py[j], px[j])) continue;
        int32_t* d = dots + j * kBlk;
        for_each_outside_tap(p, py[j], px[j], [&](int tap) {
          const int32_t* ts = p.tapsum + int64_t(tap) * ocp + oc0;
          for (int c = 0; c < kBlk; ++c) d[c] -= ts[c];
        });
      }
    }
    if constexpr (!std::is_void<Cfg>::value) {
      if (oc0 + kBlk <= p.ep.OC) {
        if (ocb != fb_ocb) {
          fb = fused_blk(p.ep, oc0);
          fb_ocb = ocb;
        }
        for (int j = 0; j < m; ++j) fused_pixel<Cfg>(fb, dots + j * kBlk, pn[j], py[j], px[j]);
        continue;
      }
    }
    epilogue_tile<int32_t, kBlk>(p.ep, dots, m, pn, py, px, oc0);
  }
}

static void bconv_range(const BConvParams& p, int64_t begin, int64_t end) {
  if (p.ep.kind != EP_FLOAT) return bconv_range_cfg<void>(p, begin, end);
  with_epi_cfg(p.ep, [&](auto cfg) {
    using Cfg = decltype(cfg);
    // no output at all: nothing to fuse (and no instantiation of it, which would
    // tip GCC into calling the micro-kernel instead of inlining it)
    if constexpr (Cfg::outf || Cfg::outb) bconv_range_cfg<Cfg>(p, begin, end);
    else bconv_range_cfg<void>(p, begin, end);
  });
}

}  // namespace bconv2d_avx2_isa

void bconv2d_avx2(const BConvParams& p, int64_t begin, int64_t end) {
  bconv2d_avx2_isa::bconv_range(p, begin, end);
}

}  // namespace dirnet
