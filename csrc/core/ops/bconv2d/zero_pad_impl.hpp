// The zero-padding correction of the optimized binary convolutions (the
// generic driver and the AVX-512 fused one). Included inside an ISA namespace
// (see ops/shared/basics_impl.hpp).
#pragma once

// Whether every tap of the window of output pixel (py, px) lies in the image.
static inline bool window_inside(const BConvParams& p, int py, int px) {
  const int iy0 = py * p.sh - p.pt, ix0 = px * p.sw - p.pl;
  return iy0 >= 0 && iy0 + (p.KH - 1) * p.dh < p.in.H && ix0 >= 0 && ix0 + (p.KW - 1) * p.dw < p.in.W;
}

// Zero padding: calls f(tap), tap = ky * KW + kx, for each tap of the window
// of output pixel (py, px) that falls outside the image. The packed border
// counted +1 there, so the caller subtracts that tap's weight-sign sum
// (p.tapsum + tap * OCB * 32).
template <class F>
static inline void for_each_outside_tap(const BConvParams& p, int py, int px, F&& f) {
  const int iy0 = py * p.sh - p.pt, ix0 = px * p.sw - p.pl;
  for (int ky = 0; ky < p.KH; ++ky) {
    const int iy = iy0 + ky * p.dh;
    const bool row_out = iy < 0 || iy >= p.in.H;
    for (int kx = 0; kx < p.KW; ++kx) {
      const int ix = ix0 + kx * p.dw;
      if (!row_out && ix >= 0 && ix < p.in.W) continue;
      f(ky * p.KW + kx);
    }
  }
}
