// Work items of the optimized convolutions: register tiles of TILE
// consecutive output pixels (row-major over n, y, x) x output-channel blocks,
// block-major (item = block * ntiles + tile), so a thread's consecutive items
// reuse one block of weights from L1. Included inside an ISA namespace (see
// basics_impl.hpp).
#pragma once

#include <type_traits>

#include "ops/shared/basics_impl.hpp"

// Calls f(std::integral_constant<int, M>{}) with M = min(max(m, 1), MAX): a
// tile's runtime pixel count as the micro-kernel's template argument.
template <int MAX, class F>
__attribute__((always_inline)) inline void with_rows(int m, F&& f) {
  if constexpr (MAX > 1) {
    if (m >= MAX) return f(std::integral_constant<int, MAX>{});
    return with_rows<MAX - 1>(m, f);
  } else {
    return f(std::integral_constant<int, 1>{});
  }
}

// Walks the items [begin, ...) in order, decoding each tile's pixels without
// divisions (one division pair at the start).
template <int TILE>
struct TileWalk {
  int64_t P, ntiles, block, tile;
  int32_t OH, OW, n, y, x;  // first pixel of the current tile

  TileWalk(int64_t begin, int32_t N, int32_t oh, int32_t ow)
      : P(int64_t(N) * oh * ow), ntiles(ceil_div(P, TILE)), OH(oh), OW(ow) {
    block = begin / ntiles;
    tile = begin % ntiles;
    const int64_t hw = int64_t(OH) * OW, q = tile * TILE;
    n = int32_t(q / hw);
    y = int32_t((q % hw) / OW);
    x = int32_t((q % hw) % OW);
  }

  // The current item's pixels into pn/py/px (returns how many: the last tile
  // of an image batch may be short) and its channel block into `blk`; then
  // moves to the next item.
  __attribute__((always_inline)) int next(int32_t* pn, int32_t* py, int32_t* px, int64_t& blk) {
    blk = block;
    const int m = int(imin64(TILE, P - tile * TILE));
    int32_t cn = n, cy = y, cx = x;
    for (int j = 0; j < m; ++j) {
      pn[j] = cn; py[j] = cy; px[j] = cx;
      if (++cx == OW) {
        cx = 0;
        if (++cy == OH) { cy = 0; ++cn; }
      }
    }
    if (++tile == ntiles) {
      tile = 0;
      ++block;
      n = y = x = 0;
    } else {
      n = cn; y = cy; x = cx;
    }
    return m;
  }
};

// base[j]: where the window of output pixel j starts in the bordered input
// (its top-left tap, possibly in the border). P: BConvParams or ConvParams.
template <class P, class T>
static inline void window_origins(const P& p, int m, const int32_t* pn, const int32_t* py,
                                  const int32_t* px, const T** base) {
  for (int j = 0; j < m; ++j)
    base[j] = p.in.data + pn[j] * p.in.ns + int64_t(py[j] * p.sh - p.pt) * p.in.rs +
              int64_t(px[j] * p.sw - p.pl) * p.in.ps;
}
