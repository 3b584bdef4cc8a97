// The driver of the optimized int8 convolutions: tiles -> the namespace's
// micro-kernel qtile_m -> epilogue_tile on the int32 sums. Included inside an
// ISA namespace (see ops/shared/basics_impl.hpp) after qtile_m, the element
// type QElem (uint8_t or int16_t), the tile size QTILE, the weight element
// QWElem and the mask helpers.
#pragma once

#include "ops/shared/epilogue_impl.hpp"
#include "ops/shared/tiles_impl.hpp"

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
