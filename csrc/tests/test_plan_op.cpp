// Plan::add_op: an op family behind the PlanOp interface runs inside a plan
// with several inputs, reads the zero border it asked for, and a shape it
// refuses becomes an error naming the op.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/plan.hpp"

namespace {

// out(n, y, x, c) = sum of the 3x3 window of a (zero outside) + b(n, y, x, c)
class WindowSumPlus : public dirnet::PlanOp {
 public:
  dirnet::Shape4 output_shape(const std::vector<dirnet::Shape4>& in) const override {
    if (in.size() != 2 || in[0].C != in[1].C || in[0].H != in[1].H || in[0].W != in[1].W)
      throw std::invalid_argument("operands differ in shape");
    return in[0];
  }
  int input_border(int input) const override { return input == 0 ? 1 : 0; }
  void run(const std::vector<dirnet::FView>& in, const dirnet::FView& out, dirnet::ThreadPool& pool) override {
    const dirnet::FView& a = in[0];
    const dirnet::FView& b = in[1];
    dirnet::parallel_for(pool, int64_t(out.N) * out.H, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / out.H, y = r % out.H;
        for (int64_t x = 0; x < out.W; ++x)
          for (int64_t c = 0; c < out.C; ++c) {
            float s = 0;
            for (int dy = -1; dy <= 1; ++dy)
              for (int dx = -1; dx <= 1; ++dx) s += a.data[n * a.ns + (y + dy) * a.rs + (x + dx) * a.ps + c];
            out.data[n * out.ns + y * out.rs + x * out.ps + c] = s + b.data[n * b.ns + y * b.rs + x * b.ps + c];
          }
      }
    });
  }
};

}  // namespace

TEST_CASE("a PlanOp runs with two inputs and a zero border") {
  dirnet::Plan plan(2, "");
  const int x = plan.add_tensor(0, -1);
  plan.set_input(x, 2);
  const int y = plan.add_tensor(0, -1);
  plan.add_op("window_sum", std::make_shared<WindowSumPlus>(), {x, x}, y);
  plan.set_output(y);
  const int N = 2, C = 2, H = 3, W = 4;
  std::vector<float> in(size_t(N * C * H * W)), out(in.size());
  for (size_t i = 0; i < in.size(); ++i) in[i] = float(i % 7) - 3.f;
  plan.run(in.data(), N, C, H, W, out.data());
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int yy = 0; yy < H; ++yy)
        for (int xx = 0; xx < W; ++xx) {
          auto at = [&](int py, int px) { return in[size_t(((n * C + c) * H + py) * W + px)]; };
          float s = 0;
          for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
              if (yy + dy >= 0 && yy + dy < H && xx + dx >= 0 && xx + dx < W) s += at(yy + dy, xx + dx);
          CHECK(out[size_t(((n * C + c) * H + yy) * W + xx)] == s + at(yy, xx));
        }
}

TEST_CASE("a shape the op refuses is an error naming it") {
  dirnet::Plan plan(1, "");
  const int x = plan.add_tensor(0, -1);
  plan.set_input(x, 3);
  const int f = plan.add_tensor(0, -1);
  plan.add_flatten("flat", x, f);
  const int y = plan.add_tensor(0, -1);
  plan.add_op("bad_sum", std::make_shared<WindowSumPlus>(), {x, f}, y);
  plan.set_output(y);
  std::vector<float> in(3 * 4 * 4), out(3 * 4 * 4);
  try {
    plan.run(in.data(), 1, 3, 4, 4, out.data());
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bad_sum") != std::string::npos);
    CHECK(msg.find("operands differ in shape") != std::string::npos);
  }
}
