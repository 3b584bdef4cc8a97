// int8 convolution (ops/qconv2d): every variant this CPU runs (VNNI and
// VPMADDWD ones on x86, portable) against the `reference` kernel on seeded
// random shapes: odd channel counts, 1x1 to 7x7 kernels (the 3-channel 7x7
// stem among them), strides, dilations, asymmetric padding, batches, partial
// tiles and channel blocks, every float epilogue (residual, activations,
// packed output with thresholds), inputs that clamp, round-half-even ties,
// NaN and infinities. The int32 sums are exact, so the outputs must agree
// bit for bit. Variants the CPU lacks are reported and skipped.
#include "test_kernels_util.hpp"

#include <cmath>
#include <limits>

#include "ops/qconv2d/qconv2d_op.hpp"

using namespace dirnet;
using namespace dirnet::testing;

namespace {

struct QCase {
  Geom g;
  int C = 1, OC = 1, act = ACT_NONE;
  bool res = false, outb = false, thr = false;
  float sx = 1.f, lo = -1.f, hi = 1.f;
  Buffer<float> in, res_buf, outf0;
  Buffer<uint64_t> outb0;
  std::vector<int8_t> w;  // [OC][C][KH][KW]
  AVec<float> A, B, slope, thr_v;

  std::string str() const {
    return g.str() + " C" + std::to_string(C) + " OC" + std::to_string(OC) + " act" + std::to_string(act) +
           (res ? " res" : "") + (outb ? " out_b" : "") + (thr ? " thr" : "") + " sx " + std::to_string(sx);
  }

  struct Out {
    Buffer<float> f;
    Buffer<uint64_t> b;
  };

  Out run(const QConv2dKernel& k, Rng& rng) {
    Out o{outf0, outb0};
    QConvGeometry qg;
    qg.C = C; qg.OC = OC; qg.KH = g.KH; qg.KW = g.KW;
    qg.stride[0] = g.sh; qg.stride[1] = g.sw; qg.dil[0] = g.dh; qg.dil[1] = g.dw;
    qg.pads[0] = g.pt; qg.pads[1] = g.pl; qg.pads[2] = g.pb; qg.pads[3] = g.pr;
    QConvOp op(qg, w.data(), sx, k);
    Epilogue e;
    e.kind = EP_FLOAT;
    e.OC = OC;
    e.A = A.data(); e.B = B.data(); e.slope = slope.data();
    e.act = act; e.lo = lo; e.hi = hi;
    if (res) e.res = fview(res_buf, OC);
    e.out_f = fview(o.f, OC);
    if (outb) e.out_b = bview(o.b, OC);
    if (thr) e.pack_thr = thr_v.data();
    op.prepare(fview(in, C), g.OH, g.OW, e);
    const QConvParams& p = op.params();
    if (k.quantize) {  // rows in random chunks too
      const int64_t rows = int64_t(g.N) * g.H;
      for (int64_t b = 0; b < rows;) {
        const int64_t end = std::min<int64_t>(rows, b + 1 + rng.uniform(0, 3));
        k.quantize(p, b, end);
        b = end;
      }
    }
    const int64_t items = k.items(p);
    for (int64_t b = 0; b < items;) {
      const int64_t end = std::min<int64_t>(items, b + 1 + rng.uniform(0, 6));
      k.run(p, b, end);
      b = end;
    }
    return o;
  }
};

QCase make_case(Rng& rng, const Geom& g, int C, int OC, int act, bool res, bool outb, bool thr) {
  QCase c;
  c.g = g; c.C = C; c.OC = OC; c.act = act; c.res = res; c.outb = outb; c.thr = thr;
  // a power of two (x * r exact: ties of round-half-even happen) or any scale
  c.sx = rng.coin(0.3) ? std::ldexp(1.f, -rng.uniform(3, 7)) : std::abs(rng.normal(0.02f)) + 1e-3f;
  c.in = Buffer<float>(g.N, g.H, g.W, C, 1);
  garbage(c.in, rng);  // the border: never read
  for (int n = 0; n < g.N; ++n)
    for (int y = 0; y < g.H; ++y)
      for (int x = 0; x < g.W; ++x)
        for (int ch = 0; ch < C; ++ch) {
          float v = rng.normal(1.f);
          const int kind = rng.uniform(0, 99);
          if (kind < 10) v = (float(rng.uniform(-140, 140)) + 0.5f) * c.sx;  // ties (exact for powers of two)
          else if (kind < 12) v = rng.normal(100.f);                          // clamps
          else if (kind == 12) v = std::numeric_limits<float>::quiet_NaN();
          else if (kind == 13) v = rng.coin() ? INFINITY : -INFINITY;
          else if (kind == 14) v = -0.f;
          c.in.at(n, y, x)[ch] = v;
        }
  c.w.resize(size_t(OC) * C * g.KH * g.KW);
  for (auto& v : c.w) v = int8_t(rng.coin(0.1) ? (rng.coin() ? 127 : -127) : rng.uniform(-127, 127));
  const size_t ocp = size_t(ceil_div(OC, 64)) * 64;
  random_float_epilogue(c, g, OC, ocp, 1e-3f, rng);
  return c;
}

const QConv2dKernel& reference_kernel() { return qconv2d_kernel("reference"); }

// Runs every supported variant; returns how many ran.
int check_variants(QCase& c, Rng& rng) {
  INFO(c.str());
  const QCase::Out want = c.run(reference_kernel(), rng);
  REQUIRE(!(want.f == c.outf0));  // the reference wrote its output
  int ran = 0;
  for (const QConv2dKernel* k : qconv2d_variants()) {
    if (std::string(k->variant) == "reference" || !k->supported()) continue;
    INFO("variant " << std::string(k->variant));
    const QCase::Out got = c.run(*k, rng);
    CHECK(got.f == want.f);
    CHECK(got.b == want.b);
    ++ran;
  }
  return ran;
}

}  // namespace

TEST_CASE("qconv2d: every variant equals the reference on random shapes and epilogues") {
  const std::vector<int> channels = {1, 3, 4, 5, 17, 64, 65};
  const std::vector<int> outs = {1, 5, 63, 64, 65, 130};
  Rng rng(8128);
  for (int i = 0; i < 60; ++i) {
    const int C = rng.pick(channels), OC = rng.pick(outs);
    const Geom g = random_geom(rng, 11, 1500);
    const int act = rng.uniform(0, 3);
    const bool outb = rng.coin(0.4);
    QCase c = make_case(rng, g, C, OC, act, rng.coin(0.3), outb, outb && rng.coin());
    check_variants(c, rng);
  }
}

TEST_CASE("qconv2d: the 7x7 stride-2 stem on 3 channels, and 1x1 stride-2 downsampling") {
  Rng rng(77);
  Geom g;
  g.N = 2; g.H = 23; g.W = 19; g.KH = g.KW = 7; g.sh = g.sw = 2; g.pt = g.pl = g.pb = g.pr = 3;
  g.OH = conv_out(g.H, 3, 3, 7, 2, 1); g.OW = conv_out(g.W, 3, 3, 7, 2, 1);
  QCase stem = make_case(rng, g, 3, 64, ACT_RELU, false, false, false);
  check_variants(stem, rng);
  Geom d;
  d.N = 1; d.H = 9; d.W = 9; d.sh = d.sw = 2;
  d.OH = d.OW = 5;
  QCase down = make_case(rng, d, 64, 128, ACT_NONE, true, true, false);
  check_variants(down, rng);
}

TEST_CASE("qconv2d: the largest K keeps the int32 sums exact") {
  // K = kQMaxK with every product at its extreme: u = 255 (x_q = 127) times
  // w = +-127 on every variant; the reference sums x_q * w_q directly.
  Rng rng(5);
  Geom g;  // 1x1 on one pixel
  QCase c = make_case(rng, g, int(kQMaxK), 70, ACT_NONE, false, false, false);
  for (auto& v : c.in.data) v = 1e9f;
  for (size_t i = 0; i < c.w.size(); ++i) c.w[i] = int8_t(i % int(kQMaxK) < size_t(kQMaxK) / 2 || i / kQMaxK % 2 ? 127 : -127);
  for (auto& a : c.A) a = 1.f;
  for (auto& b : c.B) b = 0.f;
  check_variants(c, rng);
  const QCase::Out want = c.run(reference_kernel(), rng);
  CHECK(want.f.at(0, 0, 0)[1] == float(int64_t(kQMaxK) * 127 * 127));
  CHECK_THROWS_AS(QConvOp(QConvGeometry{int(kQMaxK) + 1, 1, 1, 1}, c.w.data(), 1.f, reference_kernel()),
                  std::invalid_argument);
}

TEST_CASE("qconv2d: the VNNI variants exist where the CPU has VNNI") {
  // Reports which variants ran here (a variant ships enabled only if this test ran it somewhere).
  std::string ran;
  for (const QConv2dKernel* k : qconv2d_variants())
    if (k->supported()) ran += std::string(ran.empty() ? "" : ", ") + k->variant;
  MESSAGE("qconv2d variants on this CPU: " << ran);
  for (const std::string& path : supported_paths()) CHECK_NOTHROW(qconv2d_kernel(path));
}
