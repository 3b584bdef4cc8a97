#include "ops/gconv2d/gconv2d_op.hpp"

#include <algorithm>
#include <stdexcept>

namespace dirnet {

namespace {

int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

int conv_size(int in, int p0, int p1, int k, int s, int d) {
  const int64_t span = int64_t(in) + p0 + p1 - int64_t(d) * (k - 1) - 1;
  return span < 0 ? 0 : int(span / s + 1);
}

}  // namespace

Gconv2dOp::Gconv2dOp(const GConvGeometry& g, const float* w, const GConvEpilogue& ep) : g_(g) {
  if (g.G < 1 || g.C % g.G || g.OC % g.G) throw std::invalid_argument("channels must be multiples of groups");
  if ((!ep.A.empty() && ep.A.size() != size_t(g.OC)) || (!ep.B.empty() && ep.B.size() != size_t(g.OC)))
    throw std::invalid_argument("epilogue vectors must have one value per output channel");
  const int icg = g.C / g.G, ntaps = g.KH * g.KW;
  const int64_t OCp = round16(g.OC);
  // [OC][icg][KH][KW] -> [tap][icg][OCp]: the kernels walk output channels
  // fastest, so one load serves consecutive output channels.
  w_.assign(size_t(ntaps) * icg * OCp, 0.f);
  for (int o = 0; o < g.OC; ++o)
    for (int ci = 0; ci < icg; ++ci)
      for (int t = 0; t < ntaps; ++t)
        w_[(size_t(t) * icg + ci) * OCp + o] = w[(size_t(o) * icg + ci) * ntaps + t];
  A_.assign(size_t(OCp), 1.f);
  B_.assign(size_t(OCp), 0.f);
  for (int o = 0; o < g.OC; ++o) {
    if (!ep.A.empty()) A_[o] = ep.A[o];
    if (!ep.B.empty()) B_[o] = ep.B[o];
  }
  p_.OC = g.OC; p_.C = g.C; p_.G = g.G; p_.icg = icg; p_.opg = g.OC / g.G;
  p_.KH = g.KH; p_.KW = g.KW; p_.sh = g.stride[0]; p_.sw = g.stride[1];
  p_.pt = g.pads[0]; p_.pl = g.pads[1]; p_.dh = g.dil[0]; p_.dw = g.dil[1];
  p_.ntaps = ntaps; p_.OCp = OCp;
  p_.act = ep.act; p_.lo = ep.lo; p_.hi = ep.hi;
}

Shape4 Gconv2dOp::output_shape(const std::vector<Shape4>& in) const {
  if (in.size() != 1) throw std::invalid_argument("gconv2d takes one input");
  const Shape4& a = in[0];
  if (a.C != g_.C)
    throw std::invalid_argument("expects " + std::to_string(g_.C) + " input channels, got " + std::to_string(a.C));
  Shape4 o{a.N, conv_size(a.H, g_.pads[0], g_.pads[2], g_.KH, g_.stride[0], g_.dil[0]),
           conv_size(a.W, g_.pads[1], g_.pads[3], g_.KW, g_.stride[1], g_.dil[1]), g_.OC};
  if (o.H < 1 || o.W < 1) throw std::invalid_argument("the input is too small for this layer (output would be empty)");
  return o;
}

// The window may reach `pad` pixels outside the image on each side (never
// more: the output size formula stops there), so that much zero border lets
// the kernels read without bounds checks.
int Gconv2dOp::input_border(int) const { return *std::max_element(g_.pads, g_.pads + 4); }

void Gconv2dOp::prepare(const std::vector<FView>& in, const FView& out, const std::string& path) {
  kernel_ = &gconv2d_kernel(path);
  p_.in = in[0];
  p_.out = out;
  tap_off_.clear();
  for (int ky = 0; ky < g_.KH; ++ky)
    for (int kx = 0; kx < g_.KW; ++kx)
      tap_off_.push_back(int64_t(ky) * g_.dil[0] * in[0].rs + int64_t(kx) * g_.dil[1] * in[0].ps);
  p_.tap_off = tap_off_.data();
  p_.w = w_.data();
  p_.A = A_.data();
  p_.B = B_.data();
}

void Gconv2dOp::run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) {
  const GConv2dKernel& k = *kernel_;
  const GConvParams& p = p_;
  parallel_for(pool, k.items(p), 1, [&](int64_t b, int64_t e) { k.run(p, b, e); });
}

}  // namespace dirnet
