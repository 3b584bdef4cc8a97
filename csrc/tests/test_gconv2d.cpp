// gconv2d (grouped / depthwise fp32 conv) inside a Plan on every kernel path,
// against a float64 evaluation of the definition written here: randomised
// shapes (odd channel counts, channel multipliers, groups between 1 and C,
// strides, dilations, asymmetric padding, batches) and epilogues. Also the
// concat / slice / pad / zero PlanOps against the same kind of loops.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dispatch.hpp"
#include "graph/plan.hpp"
#include "ops/concat/concat_op.hpp"
#include "ops/gconv2d/gconv2d_op.hpp"
#include "ops/spatial/spatial_ops.hpp"

namespace {

using dirnet::GConvEpilogue;
using dirnet::GConvGeometry;

struct Case {
  GConvGeometry g;
  GConvEpilogue ep;
  int N = 1, H = 1, W = 1;
  std::vector<float> w, x;  // w: [OC][C/G][KH][KW]; x: NCHW
};

int out_size(int in, int p0, int p1, int k, int s, int d) { return (in + p0 + p1 - d * (k - 1) - 1) / s + 1; }

// The definition, in float64 (NCHW in and out).
std::vector<double> expected(const Case& c) {
  const GConvGeometry& g = c.g;
  const int icg = g.C / g.G, opg = g.OC / g.G;
  const int OH = out_size(c.H, g.pads[0], g.pads[2], g.KH, g.stride[0], g.dil[0]);
  const int OW = out_size(c.W, g.pads[1], g.pads[3], g.KW, g.stride[1], g.dil[1]);
  std::vector<double> out(size_t(c.N) * g.OC * OH * OW);
  for (int n = 0; n < c.N; ++n)
    for (int o = 0; o < g.OC; ++o)
      for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x) {
          double acc = 0;
          for (int ci = 0; ci < icg; ++ci)
            for (int ky = 0; ky < g.KH; ++ky)
              for (int kx = 0; kx < g.KW; ++kx) {
                const int iy = y * g.stride[0] - g.pads[0] + ky * g.dil[0];
                const int ix = x * g.stride[1] - g.pads[1] + kx * g.dil[1];
                if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
                const int ic = (o / opg) * icg + ci;
                acc += double(c.x[((size_t(n) * g.C + ic) * c.H + iy) * c.W + ix]) *
                       c.w[((size_t(o) * icg + ci) * g.KH + ky) * g.KW + kx];
              }
          double v = (c.ep.A.empty() ? 1.0 : c.ep.A[o]) * acc + (c.ep.B.empty() ? 0.0 : c.ep.B[o]);
          if (c.ep.act == dirnet::ACT_RELU) v = std::max(v, 0.0);
          if (c.ep.act == dirnet::ACT_HARDTANH) v = std::min(std::max(v, double(c.ep.lo)), double(c.ep.hi));
          out[((size_t(n) * g.OC + o) * OH + y) * OW + x] = v;
        }
  return out;
}

std::vector<float> run_plan(const Case& c, const std::string& path, int threads) {
  dirnet::Plan plan(threads, path);
  const int in = plan.add_tensor(0, -1);
  plan.set_input(in, c.g.C);
  const int out = plan.add_tensor(0, -1);
  plan.add_op("dw", std::make_shared<dirnet::Gconv2dOp>(c.g, c.w.data(), c.ep), {in}, out);
  plan.set_output(out);
  const std::vector<int64_t> s = plan.output_shape(c.N, c.g.C, c.H, c.W);
  std::vector<float> y(size_t(s[0] * s[1] * s[2] * s[3]), std::nanf(""));
  plan.run(c.x.data(), c.N, c.g.C, c.H, c.W, y.data());
  return y;
}

Case random_case(std::mt19937_64& rng) {
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::normal_distribution<float> normal(0.f, 1.f);
  Case c;
  GConvGeometry& g = c.g;
  const int kind = uni(0, 2);  // depthwise, depthwise with a multiplier, grouped
  const int groups = uni(1, 9);
  const int icg = kind == 2 ? uni(1, 4) : 1;
  const int opg = kind == 0 ? 1 : uni(1, 3);
  g.G = kind == 2 ? groups : uni(1, 40);  // depthwise: odd and multi-register channel counts
  g.C = g.G * icg;
  g.OC = g.G * opg;
  g.KH = uni(1, 5);
  g.KW = uni(1, 5);
  for (int i = 0; i < 2; ++i) g.stride[i] = uni(1, 2), g.dil[i] = uni(1, 2);
  for (int i = 0; i < 4; ++i) g.pads[i] = uni(0, 3);  // asymmetric
  c.N = uni(1, 3);
  c.H = uni(1, 9) + (g.KH - 1) * g.dil[0];
  c.W = uni(1, 11) + (g.KW - 1) * g.dil[1];
  c.w.resize(size_t(g.OC) * icg * g.KH * g.KW);
  for (float& v : c.w) v = normal(rng);
  c.x.resize(size_t(c.N) * g.C * c.H * c.W);
  for (float& v : c.x) v = normal(rng);
  const int epi = uni(0, 3);
  if (epi > 0) {
    for (int o = 0; o < g.OC; ++o) {
      c.ep.A.push_back(normal(rng));
      c.ep.B.push_back(normal(rng));
    }
  }
  c.ep.act = epi == 2 ? dirnet::ACT_RELU : epi == 3 ? dirnet::ACT_HARDTANH : dirnet::ACT_NONE;
  c.ep.lo = -0.5f;
  c.ep.hi = 1.5f;
  return c;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  double scale = 1e-3;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(double(got[i]) - want[i]) <= 1e-5 * scale)) ++bad;
  INFO(what);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("gconv2d: every path matches the definition on random shapes") {
  std::mt19937_64 rng(20261130);
  for (int t = 0; t < 60; ++t) {
    const Case c = random_case(rng);
    const std::vector<double> want = expected(c);
    for (const std::string& path : dirnet::supported_paths()) {
      const std::string what = "case " + std::to_string(t) + " path " + path + " C=" + std::to_string(c.g.C) +
                                " OC=" + std::to_string(c.g.OC) + " G=" + std::to_string(c.g.G) +
                                " k=" + std::to_string(c.g.KH) + "x" + std::to_string(c.g.KW);
      check_close(run_plan(c, path, 1 + t % 3), want, what);
    }
  }
}

TEST_CASE("gconv2d: MobileNet/DARTS shapes, wide channel counts") {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (int C : {32, 45, 96}) {
    for (int k : {3, 5}) {
      Case c;
      c.g.C = c.g.OC = c.g.G = C;
      c.g.KH = c.g.KW = k;
      c.g.stride[0] = c.g.stride[1] = k == 3 ? 2 : 1;
      c.g.dil[0] = c.g.dil[1] = k == 3 ? 1 : 2;
      for (int& p : c.g.pads) p = k == 3 ? 1 : 4;
      c.N = 2;
      c.H = c.W = 13;
      c.w.resize(size_t(C) * k * k);
      for (float& v : c.w) v = normal(rng);
      c.x.resize(size_t(c.N) * C * c.H * c.W);
      for (float& v : c.x) v = normal(rng);
      c.ep.act = dirnet::ACT_HARDTANH;
      c.ep.lo = 0.f;
      c.ep.hi = 6.f;
      const std::vector<double> want = expected(c);
      for (const std::string& path : dirnet::supported_paths())
        check_close(run_plan(c, path, 2), want, "C=" + std::to_string(C) + " k=" + std::to_string(k) + " " + path);
    }
  }
}

TEST_CASE("gconv2d: inconsistent geometry and inputs are refused") {
  GConvGeometry g;
  g.C = 6;
  g.OC = 6;
  g.G = 4;
  std::vector<float> w(6 * 2 * 5 * 5, 1.f);  // enough for the 5x5 case below
  CHECK_THROWS_AS(dirnet::Gconv2dOp(g, w.data(), GConvEpilogue()), std::invalid_argument);
  g.G = 3;
  dirnet::Gconv2dOp op(g, w.data(), GConvEpilogue());
  CHECK_THROWS_AS(op.output_shape({dirnet::Shape4{1, 4, 4, 5}}), std::invalid_argument);  // channels
  g.KH = g.KW = 5;
  dirnet::Gconv2dOp big(g, w.data(), GConvEpilogue());
  CHECK_THROWS_AS(big.output_shape({dirnet::Shape4{1, 4, 4, 6}}), std::invalid_argument);  // too small
}

TEST_CASE("concat, slice, pad and zero in a plan") {
  // x (NCHW 2 x 3 x 5 x 6) -> a = slice(x, 1::2, 0:5:2) (2 x 3 x 2 x 3), b = pad(a, 1, 0, 0, 2)
  // (2 x 3 x 3 x 5), z = zero(b, 2) (2 x 3 x 2 x 3); out = concat(a, z, a)
  const int N = 2, C = 3, H = 5, W = 6;
  dirnet::Plan plan(2, "");
  const int x = plan.add_tensor(0, -1);
  plan.set_input(x, C);
  const int a = plan.add_tensor(0, -1), b = plan.add_tensor(0, -1), z = plan.add_tensor(0, -1);
  const int out = plan.add_tensor(0, -1);
  const int start[2] = {1, 0}, stop[2] = {-1, 5}, step[2] = {2, 2}, pads[4] = {1, 0, 0, 2};
  plan.add_op("crop", std::make_shared<dirnet::SliceOp>(start, stop, step), {x}, a);
  plan.add_op("pad", std::make_shared<dirnet::PadOp>(pads), {a}, b);
  plan.add_op("none", std::make_shared<dirnet::ZeroOp>(2), {b}, z);
  plan.add_op("cat", std::make_shared<dirnet::ConcatOp>(), {a, z, a}, out);
  plan.add_output(out);
  plan.add_output(b);
  std::vector<float> in(size_t(N * C * H * W));
  for (size_t i = 0; i < in.size(); ++i) in[i] = float(i) + 1.f;
  const auto shapes = plan.output_shapes(N, C, H, W);
  REQUIRE(shapes[0] == std::vector<int64_t>{N, 9, 2, 3});
  REQUIRE(shapes[1] == std::vector<int64_t>{N, C, 3, 5});
  std::vector<float> o0(size_t(N * 9 * 2 * 3), -7.f), o1(size_t(N * C * 3 * 5), -7.f);
  plan.run(in.data(), N, C, H, W, {o0.data(), o1.data()});
  auto X = [&](int n, int c, int y, int xx) { return in[size_t(((n * C + c) * H + y) * W + xx)]; };
  auto A = [&](int n, int c, int y, int xx) { return X(n, c, 1 + 2 * y, 2 * xx); };
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < 9; ++c)
      for (int y = 0; y < 2; ++y)
        for (int xx = 0; xx < 3; ++xx) {
          const float want = c < 3 ? A(n, c, y, xx) : c < 6 ? 0.f : A(n, c - 6, y, xx);
          CHECK(o0[size_t(((n * 9 + c) * 2 + y) * 3 + xx)] == want);
        }
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < 3; ++y)
        for (int xx = 0; xx < 5; ++xx) {
          const bool inside = y >= 1 && xx < 3;
          CHECK(o1[size_t(((n * C + c) * 3 + y) * 5 + xx)] == (inside ? A(n, c, y - 1, xx) : 0.f));
        }
}

TEST_CASE("concat refuses inputs of different spatial size; an empty slice is refused") {
  dirnet::ConcatOp cat;
  CHECK(cat.output_shape({{2, 4, 4, 3}, {2, 4, 4, 5}}).C == 8);
  CHECK_THROWS_AS(cat.output_shape({{2, 4, 4, 3}, {2, 4, 5, 3}}), std::invalid_argument);
  const int start[2] = {4, 0}, stop[2] = {-1, -1}, step[2] = {1, 1};
  dirnet::SliceOp s(start, stop, step);
  CHECK(s.output_shape({{1, 5, 3, 2}}).H == 1);
  CHECK_THROWS_AS(s.output_shape({{1, 4, 3, 2}}), std::invalid_argument);
}
