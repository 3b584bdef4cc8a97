// Binary conv, reference path: plain loops over every bit, from the
// definition, for the tests and DIRNET_KERNEL=reference. Independent of the
// optimized paths: no tiles, no runs of words, no tap sums; it reads only the
// interior of the input and the blocked weights [OCB][KH * KW * Cw][32].
// One work item is one output pixel (all its channels).
#include <vector>

#include "ops/bconv2d/bconv2d_kernels.hpp"
#include "ops/shared/reference_epilogue.hpp"

namespace dirnet {
namespace {

// sign of channel c of a packed pixel: bit 1 means -1
int sign_at(const uint64_t* words, int c) { return (words[c / 64] >> (c % 64)) & 1u ? -1 : 1; }

// sign(w) for output channel oc, tap (ky, kx), input channel c.
int weight_sign(const BConvParams& p, int oc, int ky, int kx, int c) {
  const int64_t taps_words = int64_t(p.KH) * p.KW * p.in.Cw;
  const int64_t word = (int64_t(ky) * p.KW + kx) * p.in.Cw + c / 64;
  const uint64_t* row = p.w + (int64_t(oc / kBlk) * taps_words + word) * kBlk + oc % kBlk;
  return sign_at(row, c % 64);
}

// sum over the window of sign(x) * sign(w); a tap outside the image holds +1
// (one padding) or 0 (zero padding, p.tapsum given) in every channel.
int32_t dot(const BConvParams& p, int64_t n, int oy, int ox, int oc) {
  const bool zero_pad = p.tapsum != nullptr;
  int32_t d = 0;
  for (int ky = 0; ky < p.KH; ++ky)
    for (int kx = 0; kx < p.KW; ++kx) {
      const int iy = oy * p.sh - p.pt + ky * p.dh, ix = ox * p.sw - p.pl + kx * p.dw;
      const bool inside = iy >= 0 && iy < p.in.H && ix >= 0 && ix < p.in.W;
      if (!inside && zero_pad) continue;
      const uint64_t* px = inside ? p.in.data + n * p.in.ns + iy * p.in.rs + ix * p.in.ps : nullptr;
      for (int c = 0; c < p.in.C; ++c) d += (inside ? sign_at(px, c) : 1) * weight_sign(p, oc, ky, kx, c);
    }
  return d;
}

}  // namespace

int64_t bconv2d_reference_items(const BConvParams& p) { return int64_t(p.in.N) * p.OH * p.OW; }

void bconv2d_reference(const BConvParams& p, int64_t begin, int64_t end) {
  const Epilogue& ep = p.ep;
  std::vector<bool> neg(size_t(p.OC));
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / (int64_t(p.OH) * p.OW);
    const int y = int(i / p.OW % p.OH), x = int(i % p.OW);
    for (int oc = 0; oc < p.OC; ++oc) {
      const int32_t d = dot(p, n, y, x, oc);
      if (ep.kind == EP_INT)
        ep.out_i.data[n * ep.out_i.ns + y * ep.out_i.rs + x * ep.out_i.ps + oc] = d;
      else if (ep.kind == EP_THRESH)
        neg[oc] = ep.sgn[oc] * d < ep.T[oc];
      else
        neg[oc] = ref::float_epilogue(ep, n, y, x, oc, float(d));
    }
    if (ep.kind != EP_INT && ep.out_b.data) ref::store_bits(ep.out_b, n, y, x, neg);
  }
}

}  // namespace dirnet
