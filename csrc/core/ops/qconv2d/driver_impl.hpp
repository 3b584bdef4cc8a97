// The driver of the optimized int8 convolutions: tiles -> the namespace's
// micro-kernel qpass<M> -> epilogue_tile on the int32 sums. Included inside an
// ISA namespace (see ops/shared/basics_impl.hpp) after
//   QElem, QWElem     the activation (uint8_t, int8_t or int16_t) and weight elements
//   QTILE             pixels per tile (the most qpass takes)
//   kPasses, kPassW   a 64-channel block is kPasses passes of 64 / kPasses channels;
//                     pass s reads the block's weights from wb + s * kPassW
//   qpass<M>(base, tap_off, ntaps, G, wb, corr, out): int32 sums of M pixels
// and the mask helpers.
#pragma once

#include "ops/shared/epilogue_impl.hpp"
#include "ops/shared/tiles_impl.hpp"

// m pixels x 64 output channels of int32 sums into out[m][64].
static inline void qtile_m(int m, const QElem* const* base, const int64_t* tap_off, int ntaps, int G,
                           const QWElem* wb, const int32_t* corr, int32_t* out) {
  constexpr int oc = 64 / kPasses;
  for (int s = 0; s < kPasses; ++s)
    with_rows<QTILE>(m, [&](auto rows) {
      qpass<decltype(rows)::value>(base, tap_off, ntaps, G, wb + s * kPassW, corr + s * oc, out + s * oc);
    });
}

// Items [begin, end) of qconv2d_tiles(p, QTILE).
static void qconv_range(const QConvParams& p, int64_t begin, int64_t end) {
  const int G = p.rlen4 / 4;                     // groups of 4 elements per run
  const int64_t kg = int64_t(p.ntaps) * G;       // groups per output channel
  alignas(64) int32_t acc[QTILE * 64];
  const QElem* base[QTILE];
  int32_t pn[QTILE], py[QTILE], px[QTILE];
  const QElem* q = static_cast<const QElem*>(p.q);
  const QWElem* w = static_cast<const QWElem*>(p.w);
  TileWalk<QTILE> walk(begin, p.in.N, p.OH, p.OW);
  for (int64_t it = begin; it < end; ++it) {
    int64_t ocb;
    const int m = walk.next(pn, py, px, ocb);
    for (int j = 0; j < m; ++j)
      base[j] = q + pn[j] * p.qns + int64_t(py[j] * p.sh - p.pt) * p.qrs + int64_t(px[j] * p.sw - p.pl) * p.qps;
    qtile_m(imin(m, QTILE), base, p.tap_off, p.ntaps, G, w + ocb * kg * 256, p.corr + ocb * 64, acc);
    epilogue_tile<int32_t, 64>(p.ep, acc, m, pn, py, px, int(ocb) * 64);
  }
}
