#include "ops/qconv2d/qconv2d_op.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace dirnet {

QConvOp::QConvOp(const QConvGeometry& g, const int8_t* w, float in_scale, const QConv2dKernel& kernel)
    : g_(g), k_(&kernel) {
  if (g.C < 1 || g.OC < 1 || g.KH < 1 || g.KW < 1) throw std::invalid_argument("bad int8 conv geometry");
  if (int64_t(g.C) * g.KH * g.KW > kQMaxK)
    throw std::invalid_argument("int8 conv: C * kh * kw must be at most " + std::to_string(kQMaxK));
  if (!(std::isfinite(in_scale) && in_scale > 0.f)) throw std::invalid_argument("int8 conv: bad input scale");
  inv_scale_ = 1.f / in_scale;  // one IEEE division: the same r on every path
  if (!std::isfinite(inv_scale_)) throw std::invalid_argument("int8 conv: input scale too small");
  const int taps = g.KH * g.KW;
  wref_.resize(size_t(g.OC) * taps * g.C);
  const int OCB = int(ceil_div(g.OC, 64));
  corr_.assign(size_t(OCB) * 64, 0);
  for (int oc = 0; oc < g.OC; ++oc) {
    int32_t sum = 0;
    for (int c = 0; c < g.C; ++c)
      for (int t = 0; t < taps; ++t) {
        const int8_t v = w[(size_t(oc) * g.C + c) * taps + t];
        if (v < -127) throw std::invalid_argument("int8 conv: weight -128 (the range is [-127, 127])");
        wref_[(size_t(oc) * taps + t) * g.C + c] = v;
        sum += v;
      }
    corr_[size_t(oc)] = -128 * sum;
  }
}

// Packed weights for runs of `rlen` elements padded to rlen4: position r of
// run t is (ky, kx, c) with r = kx * C + c for row runs (dilation 1 along W),
// else r = c and t = ky * KW + kx.
void QConvOp::pack(int rlen, int rlen4, bool row_runs) {
  if (packed_rlen4_ == rlen4 && packed_dw1_ == int(row_runs)) return;
  const int ntaps = row_runs ? g_.KH : g_.KH * g_.KW;
  const int64_t Kp = int64_t(ntaps) * rlen4, Kg = Kp / 4;
  const int OCB = int(ceil_div(g_.OC, 64));
  auto value = [&](int oc, int t, int r) -> int8_t {
    if (r >= rlen) return 0;
    int ky, kx, c;
    if (row_runs) {
      ky = t; kx = r / g_.C; c = r % g_.C;
    } else {
      ky = t / g_.KW; kx = t % g_.KW; c = r;
    }
    return wref_[(size_t(oc) * g_.KH * g_.KW + size_t(ky) * g_.KW + kx) * g_.C + c];
  };
  w8_.clear();
  w16_.clear();
  if (k_->wlayout == QW_S8) {
    w8_.assign(size_t(OCB) * Kg * 256, 0);
    for (int oc = 0; oc < g_.OC; ++oc)
      for (int t = 0; t < ntaps; ++t)
        for (int r = 0; r < rlen; ++r) {
          const int64_t k = int64_t(t) * rlen4 + r;
          w8_[((size_t(oc / 64) * Kg + k / 4) * 64 + oc % 64) * 4 + k % 4] = value(oc, t, r);
        }
  } else if (k_->wlayout == QW_S16) {
    w16_.assign(size_t(OCB) * Kg * 256, 0);
    for (int oc = 0; oc < g_.OC; ++oc)
      for (int t = 0; t < ntaps; ++t)
        for (int r = 0; r < rlen; ++r) {
          const int64_t k = int64_t(t) * rlen4 + r;
          const int64_t half = (k % 4) / 2;
          w16_[(((size_t(oc / 64) * Kg + k / 4) * 2 + half) * 64 + oc % 64) * 2 + k % 2] = value(oc, t, r);
        }
  }
  packed_rlen4_ = rlen4;
  packed_dw1_ = int(row_runs);
}

void QConvOp::prepare(const FView& in, int OH, int OW, const Epilogue& ep) {
  if (in.C != g_.C) throw std::invalid_argument("int8 conv: wrong input channel count");
  if (in.ps != in.C) throw std::invalid_argument("int8 conv: the float input must be dense along channels");
  QConvParams& p = p_;
  p = QConvParams();
  p.in = in;
  p.inv_scale = inv_scale_;
  p.OH = OH; p.OW = OW; p.OC = g_.OC; p.OCB = int(ceil_div(g_.OC, 64));
  p.C = g_.C; p.KH = g_.KH; p.KW = g_.KW;
  p.sh = g_.stride[0]; p.sw = g_.stride[1]; p.pt = g_.pads[0]; p.pl = g_.pads[1];
  p.dh = g_.dil[0]; p.dw = g_.dil[1];
  p.wref = wref_.data();
  p.corr = corr_.data();
  p.ep = ep;
  if (k_->act_bytes == 0) {  // reference: reads the float input
    p.ntaps = g_.KH * g_.KW;
    return;
  }
  const int b = *std::max_element(g_.pads, g_.pads + 4);
  const bool offset = k_->act_bytes > 0;  // u = x_q + 128 (border 128) or x_q itself (border 0)
  const int64_t eb = offset ? k_->act_bytes : -k_->act_bytes;
  if (!offset) {
    zcorr_.assign(corr_.size(), 0);
    p.corr = zcorr_.data();
  }
  p.qps = g_.C;
  p.qrs = (int64_t(in.W) + 2 * b) * p.qps;
  p.qns = (int64_t(in.H) + 2 * b) * p.qrs;
  const int64_t elems = p.qns * in.N + 64;  // slack: runs are read up to 3 elements past their end
  qbuf_.assign(size_t(elems * eb), 0);
  if (eb == 1) {
    std::memset(qbuf_.data(), offset ? 128 : 0, qbuf_.size());
  } else {
    int16_t* q16 = reinterpret_cast<int16_t*>(qbuf_.data());
    std::fill(q16, q16 + elems, int16_t(128));
  }
  p.q = qbuf_.data() + (b * p.qrs + b * p.qps) * eb;
  const bool row_runs = g_.dil[1] == 1;
  tap_off_.clear();
  if (row_runs) {
    for (int ky = 0; ky < g_.KH; ++ky) tap_off_.push_back(int64_t(ky) * g_.dil[0] * p.qrs);
    p.rlen = g_.KW * g_.C;
  } else {
    for (int ky = 0; ky < g_.KH; ++ky)
      for (int kx = 0; kx < g_.KW; ++kx)
        tap_off_.push_back(int64_t(ky) * g_.dil[0] * p.qrs + int64_t(kx) * g_.dil[1] * p.qps);
    p.rlen = g_.C;
  }
  p.rlen4 = (p.rlen + 3) / 4 * 4;
  p.ntaps = int(tap_off_.size());
  p.tap_off = tap_off_.data();
  pack(p.rlen, p.rlen4, row_runs);
  p.w = k_->wlayout == QW_S8 ? static_cast<const void*>(w8_.data()) : static_cast<const void*>(w16_.data());
}

void QConvOp::run(ThreadPool* pool) {
  const QConv2dKernel& k = *k_;
  const QConvParams& p = p_;
  const int64_t rows = int64_t(p.in.N) * p.in.H;
  if (pool) {
    if (k.quantize) {
      const int64_t grain = std::max<int64_t>(1, 16384 / (int64_t(p.in.W) * p.C + 1));
      parallel_for(*pool, rows, grain, [&](int64_t b, int64_t e) { k.quantize(p, b, e); });
    }
    parallel_for(*pool, k.items(p), 1, [&](int64_t b, int64_t e) { k.run(p, b, e); });
  } else {
    if (k.quantize) k.quantize(p, 0, rows);
    k.run(p, 0, k.items(p));
  }
}

}  // namespace dirnet
