// The generic driver of the optimized binary convolutions: tiles -> the
// namespace's micro-kernel bconv_tile_m -> zero-padding correction ->
// epilogue_tile. Included inside an ISA namespace (see
// ops/shared/basics_impl.hpp) after bconv_tile_m and the mask helpers.
#pragma once

#include "ops/bconv2d/zero_pad_impl.hpp"
#include "ops/shared/epilogue_impl.hpp"
#include "ops/shared/tiles_impl.hpp"

// Items [begin, end) of bconv2d_tile_items: int32 dots of a tile from the
// micro-kernel, the zero-padding correction, then the generic epilogue.
static void bconv_range(const BConvParams& p, int64_t begin, int64_t end) {
  const int64_t kw = int64_t(p.ntaps) * p.rlen;
  const int ocp = p.OCB * kBlk;
  alignas(64) int32_t dots[kBTile * kBlk];
  const uint64_t* base[kBTile];
  int32_t pn[kBTile], py[kBTile], px[kBTile];
  TileWalk<kBTile> walk(begin, p.in.N, p.OH, p.OW);
  for (int64_t it = begin; it < end; ++it) {
    int64_t ocb;
    const int m = walk.next(pn, py, px, ocb);
    window_origins(p, m, pn, py, px, base);
    bconv_tile_m(m, base, p.tap_off, p.ntaps, p.rlen, p.w + ocb * kw * kBlk, dots, p.Kbits);
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
    epilogue_tile<int32_t, kBlk>(p.ep, dots, m, pn, py, px, oc0);
  }
}
