// Helpers of the kernel tests (test_kernels_*.cpp): seeded random data,
// bordered NHWC buffers, chunked kernel calls, and the paths to compare with
// `reference`.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "dispatch.hpp"
#include "graph/prep.hpp"
#include "ops/op_kernel.hpp"

namespace dirnet::testing {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }  // [lo, hi]
  float normal(float scale = 1.f) { return std::normal_distribution<float>(0.f, scale)(g); }
  bool coin(double p = 0.5) { return std::bernoulli_distribution(p)(g); }
  uint64_t bits() { return g(); }
  template <class T>
  T pick(const std::vector<T>& v) { return v[size_t(uniform(0, int(v.size()) - 1))]; }
};

// An NHWC tensor of N x H x W pixels of `per_pixel` elements, with a border
// of `border` pixels on each side; the views point at the interior.
template <class T>
struct Buffer {
  int N = 0, H = 0, W = 0, per_pixel = 0, border = 0;
  AVec<T> data;

  Buffer() = default;
  Buffer(int n, int h, int w, int pp, int b) : N(n), H(h), W(w), per_pixel(pp), border(b) {
    data.assign(size_t(n) * (h + 2 * b) * (w + 2 * b) * pp, T(0));
  }
  int64_t ps() const { return per_pixel; }
  int64_t rs() const { return int64_t(W + 2 * border) * per_pixel; }
  int64_t ns() const { return int64_t(H + 2 * border) * rs(); }
  T* origin() { return data.data() + border * rs() + border * ps(); }
  T* at(int n, int y, int x) { return origin() + n * ns() + y * rs() + x * ps(); }
  const T* at(int n, int y, int x) const {
    return data.data() + border * rs() + border * ps() + n * ns() + y * rs() + x * ps();
  }
  bool operator==(const Buffer& o) const {  // bytes: NaN payloads and -0 count
    return data.size() == o.data.size() && std::memcmp(data.data(), o.data.data(), data.size() * sizeof(T)) == 0;
  }
};

inline FView fview(Buffer<float>& b, int C) {
  FView v;
  v.data = b.origin();
  v.ns = b.ns(); v.rs = b.rs(); v.ps = b.ps();
  v.N = b.N; v.H = b.H; v.W = b.W; v.C = C;
  return v;
}

inline BView bview(Buffer<uint64_t>& b, int C) {
  BView v;
  v.data = b.origin();
  v.ns = b.ns(); v.rs = b.rs(); v.ps = b.ps();
  v.N = b.N; v.H = b.H; v.W = b.W; v.C = C; v.Cw = b.per_pixel;
  return v;
}

inline IView iview(Buffer<int32_t>& b) {
  IView v;
  v.data = b.origin();
  v.ns = b.ns(); v.rs = b.rs(); v.ps = b.ps();
  return v;
}

// Random packed signs for the interior, channel-padding bits 0, border 0.
inline void random_bits(Buffer<uint64_t>& b, int C, Rng& rng) {
  for (int n = 0; n < b.N; ++n)
    for (int y = 0; y < b.H; ++y)
      for (int x = 0; x < b.W; ++x)
        for (int w = 0; w < b.per_pixel; ++w) {
          const int left = C - 64 * w;
          b.at(n, y, x)[w] = left >= 64 ? rng.bits() : rng.bits() & ((uint64_t(1) << left) - 1);
        }
}

// Every element, border included, random (what a reused buffer may hold).
inline void garbage(Buffer<float>& b, Rng& rng) {
  for (auto& v : b.data) v = rng.normal(100.f);
}
inline void garbage(Buffer<uint64_t>& b, Rng& rng) {
  for (auto& v : b.data) v = rng.bits();
}
inline void garbage(Buffer<int32_t>& b, Rng& rng) {
  for (auto& v : b.data) v = int32_t(rng.bits());
}

// The kernel over all its items, in random consecutive chunks (as the thread
// pool splits them), so that a kernel starting mid-tile or mid-block is tested.
template <class P>
void run_chunked(const OpKernel<P>& k, const P& p, Rng& rng) {
  const int64_t items = k.items(p);
  for (int64_t b = 0; b < items;) {
    const int64_t e = std::min<int64_t>(items, b + 1 + rng.uniform(0, 6));
    k.run(p, b, e);
    b = e;
  }
}

// The supported paths other than the reference.
inline std::vector<std::string> optimized_paths() {
  std::vector<std::string> out;
  for (const auto& p : supported_paths())
    if (p != "reference") out.push_back(p);
  return out;
}

// Runs of a conv window (BConvParams::ntaps / rlen / tap_off), as the plan
// builds them: one run per kernel row at dilation 1, else one per tap.
inline int window_runs(int KH, int KW, int dh, int dw, int64_t rs, int64_t ps, std::vector<int64_t>& off) {
  off.clear();
  if (dw == 1) {
    for (int ky = 0; ky < KH; ++ky) off.push_back(int64_t(ky) * dh * rs);
    return int(KW * ps);
  }
  for (int ky = 0; ky < KH; ++ky)
    for (int kx = 0; kx < KW; ++kx) off.push_back(int64_t(ky) * dh * rs + int64_t(kx) * dw * ps);
  return int(ps);
}

inline int conv_out(int in, int pa, int pb, int k, int s, int d) {
  const int span = in + pa + pb - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

}  // namespace dirnet::testing

namespace dirnet::testing {

// Geometry of a random convolution: odd and even kernels, strides, dilations
// and asymmetric padding, with a non-empty output.
struct Geom {
  int N = 1, H = 1, W = 1, KH = 1, KW = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int pt = 0, pl = 0, pb = 0, pr = 0, OH = 1, OW = 1;
  int border() const { return std::max({pt, pl, pb, pr}); }
  std::string str() const {
    return "N" + std::to_string(N) + " " + std::to_string(H) + "x" + std::to_string(W) + " k" +
           std::to_string(KH) + "x" + std::to_string(KW) + " s" + std::to_string(sh) + "," + std::to_string(sw) +
           " d" + std::to_string(dh) + "," + std::to_string(dw) + " pad " + std::to_string(pt) + "," +
           std::to_string(pl) + "," + std::to_string(pb) + "," + std::to_string(pr);
  }
};

// `work` bounds N * OH * OW * KH * KW (the reference's cost per channel pair).
inline Geom random_geom(Rng& rng, int max_hw, int64_t work) {
  Geom g;
  for (;;) {
    g.KH = rng.pick<int>({1, 3, 3, 5, 7});
    g.KW = rng.coin(0.8) ? g.KH : rng.pick<int>({1, 3, 5});
    g.sh = rng.pick<int>({1, 1, 2});
    g.sw = rng.coin(0.8) ? g.sh : rng.pick<int>({1, 2});
    g.dh = rng.pick<int>({1, 1, 2});
    g.dw = rng.coin(0.8) ? g.dh : rng.pick<int>({1, 2});
    g.pt = rng.uniform(0, g.KH - 1); g.pb = rng.coin() ? g.pt : rng.uniform(0, g.KH - 1);
    g.pl = rng.uniform(0, g.KW - 1); g.pr = rng.coin() ? g.pl : rng.uniform(0, g.KW - 1);
    g.N = rng.pick<int>({1, 1, 2, 3});
    g.H = rng.uniform(1, max_hw);
    g.W = rng.uniform(1, max_hw);
    g.OH = conv_out(g.H, g.pt, g.pb, g.KH, g.sh, g.dh);
    g.OW = conv_out(g.W, g.pl, g.pr, g.KW, g.sw, g.dw);
    if (g.OH >= 1 && g.OW >= 1 && int64_t(g.N) * g.OH * g.OW * g.KH * g.KW <= work) return g;
  }
}

// The random float epilogue of a conv test case (fields A, B, slope, thr_v,
// lo, hi, res_buf, outf0, outb0, as the fp32 and int8 conv tests' cases
// have): per-channel values padded to ocp, a residual, and output buffers
// full of garbage. a_scale: the spread of the scale A (a zero in one channel
// of ten).
template <class Case>
void random_float_epilogue(Case& c, const Geom& g, int OC, size_t ocp, float a_scale, Rng& rng) {
  std::vector<float> A(OC), B(OC), slope(OC), t(OC);
  for (int oc = 0; oc < OC; ++oc) {
    A[oc] = rng.coin(0.1) ? 0.f : rng.normal(a_scale);
    B[oc] = rng.normal();
    slope[oc] = rng.normal(0.5f);
    t[oc] = oc % 4 == 1 ? 0.f : rng.normal(0.5f);
  }
  c.lo = -std::abs(rng.normal()) - 0.1f;
  c.hi = c.lo + std::abs(rng.normal()) + 0.2f;
  c.A = padded_copy(A.data(), size_t(OC), ocp);
  c.B = padded_copy(B.data(), size_t(OC), ocp);
  c.slope = padded_copy(slope.data(), size_t(OC), ocp);
  c.thr_v = padded_copy(t.data(), size_t(OC), ocp);
  c.res_buf = Buffer<float>(g.N, g.OH, g.OW, OC, 0);
  for (auto& v : c.res_buf.data) v = rng.normal();
  c.outf0 = Buffer<float>(g.N, g.OH, g.OW, OC, 1);
  c.outb0 = Buffer<uint64_t>(g.N, g.OH, g.OW, words_for(OC), 1);
  garbage(c.outf0, rng);
  garbage(c.outb0, rng);
}

}  // namespace dirnet::testing
