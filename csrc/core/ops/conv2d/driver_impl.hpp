// The driver of the optimized fp32 convolutions: tiles -> the namespace's
// micro-kernel conv_tile_m -> epilogue_tile. Included inside an ISA namespace
// (see ops/shared/basics_impl.hpp) after conv_tile_m and the mask helpers.
#pragma once

#include "ops/shared/epilogue_impl.hpp"
#include "ops/shared/tiles_impl.hpp"

// Items [begin, end) of conv2d_tile_items.
static void conv_range(const ConvParams& p, int64_t begin, int64_t end) {
  const int64_t kw = int64_t(p.ntaps) * p.rlen;
  alignas(64) float acc[kTile * kFBlk];
  const float* base[kTile];
  int32_t pn[kTile], py[kTile], px[kTile];
  TileWalk<kTile> walk(begin, p.in.N, p.OH, p.OW);
  for (int64_t it = begin; it < end; ++it) {
    int64_t ocb;
    const int m = walk.next(pn, py, px, ocb);
    window_origins(p, m, pn, py, px, base);
    // imin: the micro-kernels also take 6 pixels (kTile is a build setting);
    // GCC 12 does not see m <= kTile here and warns about that case's base[j].
    conv_tile_m(imin(m, kTile), base, p.tap_off, p.ntaps, p.rlen, p.w + ocb * kw * kFBlk, acc);
    epilogue_tile<float, kFBlk>(p.ep, acc, m, pn, py, px, int(ocb) * kFBlk);
  }
}
