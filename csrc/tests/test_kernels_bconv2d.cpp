// Binary convolution: every supported kernel path bit for bit against the
// `reference` kernel, on seeded random shapes and every epilogue (int dots,
// float with/without residual and each activation, float and/or packed
// output with or without thresholds, integer thresholds), one and zero
// padding. Output buffers start with garbage, border included, and are
// compared whole: a kernel writing outside its output fails too.
#include "test_kernels_util.hpp"

#include "ops/bconv2d/bconv2d_kernels.hpp"

using namespace dirnet;
using namespace dirnet::testing;

namespace {

struct Epi {
  int kind = EP_INT, act = ACT_NONE;
  bool res = false, outf = false, outb = false, thr = false;
  std::string str() const {
    static const char* kinds[] = {"int", "float", "thresh"};
    static const char* acts[] = {"none", "hardtanh", "relu", "prelu"};
    return std::string(kinds[kind]) + " act=" + acts[act] + (res ? " res" : "") + (outf ? " out_f" : "") +
           (outb ? " out_b" : "") + (thr ? " thr" : "");
  }
};

// Every epilogue variant: the cases cycle through this list.
std::vector<Epi> all_epilogues() {
  std::vector<Epi> out;
  out.push_back(Epi{EP_INT});
  Epi t{EP_THRESH};
  t.outb = true;
  out.push_back(t);
  for (int act = ACT_NONE; act <= ACT_PRELU; ++act)
    for (int res = 0; res < 2; ++res)
      for (int outs = 1; outs <= 3; ++outs)
        for (int thr = 0; thr < 2; ++thr) {
          if (thr && !(outs & 2)) continue;  // thresholds only matter for packed output
          Epi e{EP_FLOAT, act, bool(res), bool(outs & 1), bool(outs & 2), bool(thr)};
          out.push_back(e);
        }
  return out;
}

// Everything one binary conv call reads; run() gives its outputs on a path.
struct Case {
  Geom g;
  int C = 1, OC = 1;
  bool zero_pad = false;
  Epi epi;
  Buffer<uint64_t> in;
  AVec<uint64_t> wb;
  AVec<int32_t> tapsum;
  std::vector<int64_t> off;
  int rlen = 1;
  AVec<float> A, B, slope, thr;
  AVec<int32_t> T, sgn;
  float lo = -1.f, hi = 1.f;
  Buffer<float> res, outf0;
  Buffer<uint64_t> outb0;
  Buffer<int32_t> outi0;

  struct Out {
    Buffer<float> f;
    Buffer<uint64_t> b;
    Buffer<int32_t> i;
  };

  std::string str() const {
    return g.str() + " C" + std::to_string(C) + " OC" + std::to_string(OC) + (zero_pad ? " zero-pad " : " one-pad ") +
           epi.str();
  }

  Out run(const std::string& path, Rng& rng) {
    Out o{outf0, outb0, outi0};
    BConvParams p;
    p.in = bview(in, C);
    p.OH = g.OH; p.OW = g.OW; p.OC = OC; p.OCB = int(ceil_div(OC, kBlk));
    p.KH = g.KH; p.KW = g.KW; p.sh = g.sh; p.sw = g.sw; p.pt = g.pt; p.pl = g.pl; p.dh = g.dh; p.dw = g.dw;
    p.ntaps = int(off.size()); p.rlen = rlen; p.tap_off = off.data();
    p.w = wb.data();
    p.Kbits = C * g.KH * g.KW;
    p.tapsum = zero_pad ? tapsum.data() : nullptr;
    Epilogue& e = p.ep;
    e.kind = epi.kind;
    e.OC = OC;
    e.A = A.data(); e.B = B.data(); e.slope = slope.data();
    e.act = epi.act; e.lo = lo; e.hi = hi;
    if (epi.res) e.res = fview(res, OC);
    if (epi.outf) e.out_f = fview(o.f, OC);
    if (epi.outb) e.out_b = bview(o.b, OC);
    if (epi.thr) e.pack_thr = thr.data();
    e.T = T.data(); e.sgn = sgn.data();
    if (epi.kind == EP_INT) e.out_i = iview(o.i);
    run_chunked(bconv2d_kernel(path), p, rng);
    return o;
  }
};

float act_of(const Case& c, int oc, float z) {
  if (c.epi.act == ACT_HARDTANH) return z < c.lo ? c.lo : (z > c.hi ? c.hi : z);
  if (c.epi.act == ACT_RELU) return z > 0.f ? z : 0.f;
  if (c.epi.act == ACT_PRELU) return z >= 0.f ? z : z * c.slope[oc];
  return z;
}

Case make_case(Rng& rng, const Geom& g, int C, int OC, bool zero_pad, const Epi& epi) {
  Case c;
  c.g = g; c.C = C; c.OC = OC; c.zero_pad = zero_pad; c.epi = epi;
  const int Cw = words_for(C), ntaps = g.KH * g.KW;
  c.in = Buffer<uint64_t>(g.N, g.H, g.W, Cw, g.border());
  random_bits(c.in, C, rng);
  Buffer<uint64_t> w(OC, g.KH, g.KW, Cw, 0);  // [OC][KH][KW][Cw]
  random_bits(w, C, rng);
  c.wb = block_bweights(w.data.data(), OC, ntaps, Cw);
  c.tapsum = tap_sums(w.data.data(), OC, ntaps, Cw, C);
  c.rlen = window_runs(g.KH, g.KW, g.dh, g.dw, c.in.rs(), c.in.ps(), c.off);
  const size_t ocp = size_t(ceil_div(OC, kBlk)) * kBlk;
  std::vector<float> A(OC), B(OC), slope(OC), thr(OC);
  std::vector<int32_t> T(OC), sgn(OC);
  c.lo = -std::abs(rng.normal()) - 0.1f;
  c.hi = c.lo + std::abs(rng.normal()) + 0.2f;
  const int K = C * ntaps;
  for (int oc = 0; oc < OC; ++oc) {
    A[oc] = rng.coin(0.15) ? 0.f : rng.normal(0.1f);  // A = 0: constant output (gamma = 0)
    B[oc] = rng.normal();
    slope[oc] = rng.normal(0.5f);
    thr[oc] = rng.normal(0.3f);
    T[oc] = rng.uniform(-K - 2, K + 2);
    sgn[oc] = rng.coin() ? 1 : -1;
  }
  // Ties decide the sign (bit = !(z >= thr)): thresholds at the hardtanh
  // bounds and at 0, and channels with A = 0 whose constant output is the threshold.
  for (int oc = 0; oc < OC; ++oc) {
    if (oc % 4 == 1) thr[oc] = epi.act == ACT_HARDTANH ? c.hi : 0.f;
    if (oc % 4 == 2) thr[oc] = epi.act == ACT_HARDTANH ? c.lo : 0.f;
  }
  c.slope = padded_copy(slope.data(), size_t(OC), ocp);
  if (!epi.res)
    for (int oc = 0; oc < OC; ++oc)
      if (A[oc] == 0.f && oc % 4 == 3) thr[oc] = act_of(c, oc, B[oc]);
  c.A = padded_copy(A.data(), size_t(OC), ocp);
  c.B = padded_copy(B.data(), size_t(OC), ocp);
  c.thr = padded_copy(thr.data(), size_t(OC), ocp);
  c.T = padded_copy(T.data(), size_t(OC), ocp);
  c.sgn = padded_copy(sgn.data(), size_t(OC), ocp, int32_t(1));
  c.res = Buffer<float>(g.N, g.OH, g.OW, OC, 0);
  for (auto& v : c.res.data) v = rng.normal();
  c.outf0 = Buffer<float>(g.N, g.OH, g.OW, OC, 1);
  c.outb0 = Buffer<uint64_t>(g.N, g.OH, g.OW, words_for(OC), 1);
  c.outi0 = Buffer<int32_t>(g.N, g.OH, g.OW, OC, 1);
  garbage(c.outf0, rng);
  garbage(c.outb0, rng);
  garbage(c.outi0, rng);
  return c;
}

void check_paths(Case& c, Rng& rng) {
  INFO(c.str());
  const Case::Out want = c.run("reference", rng);
  for (const auto& path : optimized_paths()) {
    INFO("path " << path);
    const Case::Out got = c.run(path, rng);
    CHECK(got.i == want.i);
    CHECK(got.f == want.f);
    CHECK(got.b == want.b);
  }
}

}  // namespace

TEST_CASE("bconv2d: every path equals the reference on random shapes and epilogues") {
  const std::vector<Epi> epis = all_epilogues();
  const std::vector<int> channels = {1, 3, 31, 63, 64, 65, 130, 200};
  const std::vector<int> outs = {1, 3, 31, 32, 33, 63, 65, 130};
  Rng rng(20240611);
  for (int i = 0; i < 2 * int(epis.size()); ++i) {
    const int C = rng.pick(channels), OC = rng.pick(outs);
    // bound the reference's bit loop: N * OH * OW * taps * C * OC
    const int64_t work = std::max<int64_t>(64, int64_t(20000000) / (int64_t(C) * OC));
    const Geom g = random_geom(rng, 13, work);
    Case c = make_case(rng, g, C, OC, rng.coin(), epis[size_t(i) % epis.size()]);
    check_paths(c, rng);
    c.epi = Epi{EP_INT};  // and the raw dots of every shape
    check_paths(c, rng);
  }
}

TEST_CASE("bconv2d: ResNet-like layers (tiles with leftover pixels, several words, both paddings)") {
  Rng rng(7);
  for (int C : {64, 128, 65}) {
    for (int zero_pad = 0; zero_pad < 2; ++zero_pad) {
      Geom g;
      g.N = 2; g.H = 9; g.W = 7; g.KH = g.KW = 3; g.pt = g.pl = g.pb = g.pr = 1;
      g.sh = g.sw = C == 128 ? 2 : 1;
      g.OH = conv_out(g.H, 1, 1, 3, g.sh, 1);
      g.OW = conv_out(g.W, 1, 1, 3, g.sw, 1);
      Epi e{EP_FLOAT, ACT_HARDTANH, true, true, true, true};
      Case c = make_case(rng, g, C, C == 65 ? 40 : 64, zero_pad == 1, e);
      check_paths(c, rng);
    }
  }
}

TEST_CASE("bconv2d: long windows (the AVX2 path splits them in passes of 31 words, runs of any length)") {
  // Windows of 36 .. 250 words: pass boundaries fall inside a kernel row's run
  // and between runs; runs of 1 .. 48 words end on every remainder mod 4.
  Rng rng(31);
  struct Shape { int C, K, d; };
  for (const Shape s : {Shape{1000, 3, 1}, Shape{200, 7, 1}, Shape{130, 5, 2}, Shape{450, 3, 2}, Shape{64, 7, 1}}) {
    Geom g;
    g.N = 1; g.H = 6; g.W = 5; g.KH = g.KW = s.K; g.dh = g.dw = s.d;
    g.pt = g.pl = g.pb = g.pr = (s.K - 1) * s.d / 2;
    g.OH = conv_out(g.H, g.pt, g.pb, g.KH, 1, g.dh);
    g.OW = conv_out(g.W, g.pl, g.pr, g.KW, 1, g.dw);
    Epi e{EP_FLOAT, ACT_HARDTANH, true, true, true, false};
    Case c = make_case(rng, g, s.C, 40, rng.coin(), e);
    check_paths(c, rng);
    c.epi = Epi{EP_INT};
    check_paths(c, rng);
  }
}

TEST_CASE("bconv2d: every epilogue on full 32-channel blocks (the AVX2 path fuses those)") {
  Rng rng(32);
  for (const Epi& e : all_epilogues()) {
    for (int OC : {64, 45}) {  // full blocks only; a full block then a partial one
      Geom g;
      g.N = 2; g.H = 5; g.W = 4; g.KH = g.KW = 3; g.pt = g.pl = g.pb = g.pr = 1;
      g.OH = g.H; g.OW = g.W;
      Case c = make_case(rng, g, rng.pick<int>({3, 64, 100}), OC, rng.coin(), e);
      check_paths(c, rng);
    }
  }
}

// Windows longer than 1,023 words: the neon path's 16-bit counters are widened
// into 32-bit totals every 1,023 words (neon_impl.hpp), which these cross at
// odd places (mid-run, twice for C = 16447); K exceeds 65,535 bits here.
TEST_CASE("bconv2d: very long windows (counter widening of the 16-bit paths)") {
  Rng rng(99);
  for (int C : {8300, 16447}) {
    Geom g;
    g.N = 1; g.H = 3; g.W = 2 + (C & 1); g.KH = g.KW = 3; g.pt = g.pl = g.pb = g.pr = 1;
    g.OH = conv_out(g.H, 1, 1, 3, 1, 1);
    g.OW = conv_out(g.W, 1, 1, 3, 1, 1);
    Case c = make_case(rng, g, C, 33, C > 10000, Epi{EP_INT});
    check_paths(c, rng);
  }
}
