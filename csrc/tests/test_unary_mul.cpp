// The unary activations (silu, sigmoid, hardswish, hardsigmoid) and the
// elementwise product on every kernel path against the reference, on random
// data and on the edges (large magnitudes, subnormal results, infinities,
// NaN); the ops inside a Plan with a border on their input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dispatch.hpp"
#include "graph/plan.hpp"
#include "ops/mul/mul_kernels.hpp"
#include "ops/mul/mul_op.hpp"
#include "ops/unary/unary_kernels.hpp"
#include "ops/unary/unary_op.hpp"

namespace {

using namespace dirnet;

FView dense(float* d, int N, int H, int W, int C) {
  FView v;
  v.data = d;
  v.N = N; v.H = H; v.W = W; v.C = C;
  v.ps = C; v.rs = int64_t(W) * C; v.ns = int64_t(H) * v.rs;
  return v;
}

std::vector<float> run_unary(const std::string& path, int32_t kind, std::vector<float> in, int N, int H, int W,
                             int C) {
  std::vector<float> out(in.size(), -7.f);
  UnaryParams p;
  p.in = dense(in.data(), N, H, W, C);
  p.out = dense(out.data(), N, H, W, C);
  p.kind = kind;
  unary_kernel(path)(p);
  return out;
}

// Within kUnaryRelTol of the reference (sigmoid/silu), or bit for bit; NaN where the reference has NaN.
bool close(int32_t kind, float got, float want) {
  if (std::isnan(want)) return std::isnan(got);
  if (kind == UNARY_HARDSWISH || kind == UNARY_HARDSIGMOID)
    return std::memcmp(&got, &want, sizeof(float)) == 0 || (got == 0.f && want == 0.f);
  if (std::isinf(want)) return got == want;
  // below FLT_MIN the ulp is fixed: allow a few of them
  return std::fabs(got - want) <= kUnaryRelTol * std::fabs(want) + 4 * std::numeric_limits<float>::denorm_min();
}

const int32_t kKinds[] = {UNARY_SILU, UNARY_SIGMOID, UNARY_HARDSWISH, UNARY_HARDSIGMOID};

}  // namespace

TEST_CASE("unary activations: every path matches the reference on random data") {
  const int N = 2, H = 5, W = 7, C = 19;  // rows of 133 floats: vector tails on every path
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 4.f);
  std::vector<float> x(size_t(N) * H * W * C);
  for (float& v : x) v = g(rng);
  for (int32_t kind : kKinds) {
    const std::vector<float> want = run_unary("reference", kind, x, N, H, W, C);
    for (size_t i = 0; i < x.size(); ++i) REQUIRE(want[i] == unary_reference_value(kind, x[i]));
    for (const std::string& path : supported_paths()) {
      const std::vector<float> got = run_unary(path, kind, x, N, H, W, C);
      int bad = 0;
      for (size_t i = 0; i < x.size(); ++i) bad += !close(kind, got[i], want[i]);
      INFO("path " << path << " kind " << kind);
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("unary activations: edges (large inputs, subnormal results, inf, NaN)") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.f, -0.f, 1e-30f, -1e-30f, 1e-45f, 3.f, -3.f, 2.9999998f, -3.0000002f,
                          20.f, -20.f, 80.f, -80.f, 87.f, -87.f, 88.5f, -88.5f, 88.8f, -88.8f, 89.f,
                          -89.f, 95.f, -95.f, 103.f, -103.f, 104.5f, -104.5f, 1e10f, -1e10f, inf, -inf,
                          std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::max()};
  // and a sweep over the range where exp goes subnormal or overflows
  for (float v = -110.f; v <= 110.f; v += 0.173f) x.push_back(v);
  const int n = int(x.size());
  for (int32_t kind : kKinds) {
    const std::vector<float> want = run_unary("reference", kind, x, 1, 1, n, 1);
    for (const std::string& path : supported_paths()) {
      const std::vector<float> got = run_unary(path, kind, x, 1, 1, n, 1);
      for (int i = 0; i < n; ++i) {
        INFO("path " << path << " kind " << kind << " x " << x[size_t(i)] << " got " << got[size_t(i)]
                     << " want " << want[size_t(i)]);
        CHECK(close(kind, got[size_t(i)], want[size_t(i)]));
      }
    }
  }
}

TEST_CASE("mul: same shape and per-channel gate, every path, inside a plan") {
  const int N = 2, C = 5, H = 3, W = 4;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 1.f);
  for (const std::string& path : supported_paths()) {
    for (bool gate_first : {false, true}) {
      // s = sigmoid(avgpool(x)); y = x * s (either operand order); z = y * y.
      // A padded conv also reads y, so y has a border the mul must step over.
      Plan plan(2, path);
      const int x = plan.add_tensor(0, -1);
      plan.set_input(x, C);
      const int pooled = plan.add_tensor(0, -1);
      plan.add_adaptive_avg("pool", x, pooled, 1, 1);
      const int s = plan.add_tensor(0, -1);
      plan.add_op("gate", make_unary_op(UNARY_SIGMOID), {pooled}, s);
      const int y = plan.add_tensor(0, -1);
      plan.add_op("scale", make_mul_op(), gate_first ? std::vector<int>{s, x} : std::vector<int>{x, s}, y);
      const int z = plan.add_tensor(0, -1);
      plan.add_op("square", make_mul_op(), {y, y}, z);
      std::vector<float> w(size_t(C) * C * 9, 0.f);
      const int stride[2] = {1, 1}, pads[4] = {1, 1, 1, 1}, dil[2] = {1, 1};
      const int c = plan.add_tensor(0, -1);
      EpiSpec ep;
      ep.A.assign(size_t(C), 1.f);
      ep.B.assign(size_t(C), 0.f);
      plan.add_conv("conv", y, c, -1, -1, w.data(), C, C, 3, 3, stride, pads, dil, std::move(ep));
      plan.set_output(z);
      plan.add_output(y);
      plan.add_output(s);
      plan.add_output(c);
      std::vector<float> in(size_t(N) * C * H * W);
      for (float& v : in) v = g(rng);
      std::vector<float> zo(in.size()), yo(in.size()), so(size_t(N) * C), co(in.size());
      plan.run(in.data(), N, C, H, W, std::vector<float*>{zo.data(), yo.data(), so.data(), co.data()});
      for (int n = 0; n < N; ++n)
        for (int ch = 0; ch < C; ++ch) {
          const float sv = so[size_t(n * C + ch)];
          CHECK(sv > 0.f);
          CHECK(sv < 1.f);
          for (int i = 0; i < H * W; ++i) {
            const size_t at = size_t((n * C + ch) * H * W + i);
            CHECK(yo[at] == in[at] * sv);
            CHECK(zo[at] == yo[at] * yo[at]);
            CHECK(co[at] == 0.f);
          }
        }
    }
  }
}

TEST_CASE("mul: the row kernels are the plain products") {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.f, 3.f);
  const int W = 13, C = 37;
  std::vector<float> a(size_t(W) * C), b(a.size()), o(a.size());
  std::vector<float> s(static_cast<size_t>(C));
  for (float& v : a) v = g(rng);
  for (float& v : b) v = g(rng);
  for (float& v : s) v = g(rng);
  mul_row(o.data(), a.data(), b.data(), int64_t(a.size()));
  for (size_t i = 0; i < a.size(); ++i) CHECK(o[i] == a[i] * b[i]);
  mul_row_gate(o.data(), a.data(), s.data(), W, C);
  for (int x = 0; x < W; ++x)
    for (int c = 0; c < C; ++c) CHECK(o[size_t(x * C + c)] == a[size_t(x * C + c)] * s[size_t(c)]);
}

TEST_CASE("mul: shapes that do not broadcast are an error naming the op") {
  Plan plan(1, "");
  const int x = plan.add_tensor(0, -1);
  plan.set_input(x, 4);
  const int p = plan.add_tensor(0, -1);
  plan.add_adaptive_avg("pool", x, p, 2, 1);  // (N, 4, 2, 1): not a per-channel gate
  const int y = plan.add_tensor(0, -1);
  plan.add_op("bad_mul", make_mul_op(), {x, p}, y);
  plan.set_output(y);
  std::vector<float> in(4 * 4 * 4), out(in.size());
  try {
    plan.run(in.data(), 1, 4, 4, 4, out.data());
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bad_mul") != std::string::npos);
    CHECK(msg.find("(N, C, 1, 1)") != std::string::npos);
  }
}
