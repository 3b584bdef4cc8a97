// fp32 convolution: every supported path against the `reference` kernel on
// seeded random shapes and float epilogues (residual, each activation, packed
// output with thresholds). The vector paths add each product with one fma in
// the reference's order, so they must agree bit for bit. The portable path
// rounds each product before the add (the baseline x86-64 target has no FMA):
// its float output must lie within the rounding bound of that difference and
// its packed bits must agree wherever the value is not that close to the
// threshold.
#include "test_kernels_util.hpp"

#include <cmath>

#include "ops/conv2d/conv2d_kernels.hpp"

using namespace dirnet;
using namespace dirnet::testing;

namespace {

struct Case {
  Geom g;
  int C = 1, OC = 1, act = ACT_NONE;
  bool res = false, outb = false, thr = false;
  Buffer<float> in, res_buf, outf0;
  Buffer<uint64_t> outb0;
  AVec<float> w, A, B, slope, thr_v;
  std::vector<int64_t> off;
  int rlen = 1;
  float lo = -1.f, hi = 1.f;

  struct Out {
    Buffer<float> f;
    Buffer<uint64_t> b;
  };

  std::string str() const {
    return g.str() + " C" + std::to_string(C) + " OC" + std::to_string(OC) + " act" + std::to_string(act) +
           (res ? " res" : "") + (outb ? " out_b" : "") + (thr ? " thr" : "");
  }

  ConvParams params(Out& o) {
    ConvParams p;
    p.in = fview(in, C);
    p.OH = g.OH; p.OW = g.OW; p.OC = OC; p.OCB = int(ceil_div(OC, kFBlk));
    p.KH = g.KH; p.KW = g.KW; p.sh = g.sh; p.sw = g.sw; p.pt = g.pt; p.pl = g.pl; p.dh = g.dh; p.dw = g.dw;
    p.ntaps = int(off.size()); p.rlen = rlen; p.tap_off = off.data();
    p.w = w.data();
    Epilogue& e = p.ep;
    e.kind = EP_FLOAT;
    e.OC = OC;
    e.A = A.data(); e.B = B.data(); e.slope = slope.data();
    e.act = act; e.lo = lo; e.hi = hi;
    if (res) e.res = fview(res_buf, OC);
    e.out_f = fview(o.f, OC);
    if (outb) e.out_b = bview(o.b, OC);
    if (thr) e.pack_thr = thr_v.data();
    return p;
  }

  Out run(const std::string& path, Rng& rng) {
    Out o{outf0, outb0};
    run_chunked(conv2d_kernel(path), params(o), rng);
    return o;
  }

  // |A| * sum |x * w| per output (the reference on absolute values): the
  // scale of the rounding differences between the two summations.
  Buffer<float> magnitude(Rng& rng) {
    Case m = *this;
    for (auto& v : m.in.data) v = std::abs(v);
    for (auto& v : m.w) v = std::abs(v);
    for (auto& v : m.A) v = std::abs(v);
    for (auto& v : m.B) v = 0.f;
    m.act = ACT_NONE; m.res = false; m.outb = false;
    return m.run("reference", rng).f;
  }
};

Case make_case(Rng& rng, const Geom& g, int C, int OC, int act, bool res, bool outb, bool thr) {
  Case c;
  c.g = g; c.C = C; c.OC = OC; c.act = act; c.res = res; c.outb = outb; c.thr = thr;
  c.in = Buffer<float>(g.N, g.H, g.W, C, g.border());  // zero border: zero padding
  for (int n = 0; n < g.N; ++n)
    for (int y = 0; y < g.H; ++y)
      for (int x = 0; x < g.W; ++x)
        for (int ch = 0; ch < C; ++ch) c.in.at(n, y, x)[ch] = rng.normal();
  std::vector<float> wt(size_t(OC) * C * g.KH * g.KW);  // torch layout [OC][C][KH][KW]
  for (auto& v : wt) v = rng.normal(0.3f);
  c.w = block_fweights(wt.data(), OC, C, g.KH, g.KW);
  c.rlen = window_runs(g.KH, g.KW, g.dh, g.dw, c.in.rs(), c.in.ps(), c.off);
  const size_t ocp = size_t(ceil_div(OC, kFBlk)) * kFBlk;
  random_float_epilogue(c, g, OC, ocp, 1.f, rng);
  return c;
}

// Portable vs reference: |got - want| <= bound, bits equal away from the threshold.
void check_close(Case& c, const Case::Out& got, const Case::Out& want, Rng& rng) {
  Buffer<float> mag = c.magnitude(rng);
  const double u = std::ldexp(1.0, -24);
  const double terms = double(c.C) * c.g.KH * c.g.KW;
  int bad = 0, bad_bits = 0;
  for (int n = 0; n < c.g.N; ++n)
    for (int y = 0; y < c.g.OH; ++y)
      for (int x = 0; x < c.g.OW; ++x)
        for (int oc = 0; oc < c.OC; ++oc) {
          const double slope = c.act == ACT_PRELU ? std::max(1.0, double(std::abs(c.slope[oc]))) : 1.0;
          const double w = want.f.at(n, y, x)[oc], g = got.f.at(n, y, x)[oc];
          const double tol = slope * (3 * terms * u * mag.at(n, y, x)[oc] + 8 * u * std::abs(w)) + 1e-30;
          bad += std::abs(g - w) > tol;
          if (c.outb) {
            const double t = c.thr ? c.thr_v[oc] : 0.0;
            if (std::abs(w - t) <= tol) continue;
            auto bit = [&](const Buffer<uint64_t>& b) { return (b.at(n, y, x)[oc / 64] >> (oc % 64)) & 1u; };
            bad_bits += bit(got.b) != bit(want.b);
          }
        }
  CHECK(bad == 0);
  CHECK(bad_bits == 0);
}

void check_paths(Case& c, Rng& rng) {
  INFO(c.str());
  const Case::Out want = c.run("reference", rng);
  for (const auto& path : optimized_paths()) {
    INFO("path " << path);
    const Case::Out got = c.run(path, rng);
#if defined(DIRNET_ARM64)
    const bool exact = true;  // FMA is baseline there: portable adds each product with one rounding too
#else
    const bool exact = path != "portable";  // x86-64 portable rounds each product before the add
#endif
    if (!exact) {
      check_close(c, got, want, rng);
    } else {
      CHECK(got.f == want.f);
      CHECK(got.b == want.b);
    }
  }
}

}  // namespace

TEST_CASE("conv2d: every path equals the reference on random shapes and epilogues") {
  const std::vector<int> channels = {1, 3, 4, 17, 65};
  const std::vector<int> outs = {1, 5, 63, 64, 65, 130};
  Rng rng(31337);
  for (int i = 0; i < 64; ++i) {
    const int C = rng.pick(channels), OC = rng.pick(outs);
    const int64_t work = std::max<int64_t>(64, int64_t(4000000) / (int64_t(C) * OC));
    const Geom g = random_geom(rng, 12, work);
    const int act = i % 4;
    const bool res = (i / 4) % 2 == 1, outb = (i / 8) % 2 == 1, thr = (i / 16) % 2 == 1;
    Case c = make_case(rng, g, C, OC, act, res, outb, thr);
    check_paths(c, rng);
  }
}
