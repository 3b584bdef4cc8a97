#include "ops/mul/mul_op.hpp"

#include <stdexcept>
#include <string>

#include "ops/mul/mul_kernels.hpp"

namespace dirnet {

namespace {

bool same(const Shape4& a, const Shape4& b) { return a.N == b.N && a.H == b.H && a.W == b.W && a.C == b.C; }

// s broadcasts over x: one value per image and channel.
bool gates(const Shape4& s, const Shape4& x) { return s.N == x.N && s.C == x.C && s.H == 1 && s.W == 1; }

std::string str(const Shape4& s) {
  return "(" + std::to_string(s.N) + ", " + std::to_string(s.C) + ", " + std::to_string(s.H) + ", " +
         std::to_string(s.W) + ")";
}

class MulOp : public PlanOp {
 public:
  Shape4 output_shape(const std::vector<Shape4>& in) const override {
    if (in.size() != 2) throw std::invalid_argument("takes two inputs");
    if (same(in[0], in[1]) || gates(in[1], in[0])) return in[0];
    if (gates(in[0], in[1])) return in[1];
    throw std::invalid_argument("cannot multiply shapes " + str(in[0]) + " and " + str(in[1]) +
                                " (NCHW): the operands must have the same shape, or one must be (N, C, 1, 1)");
  }

  void prepare(const std::vector<FView>& in, const FView& out, const std::string&) override {
    // the full-size operand first; a same-shape product keeps the file's order
    const bool swap = !(in[0].H == out.H && in[0].W == out.W);
    p_.a = swap ? in[1] : in[0];
    p_.b = swap ? in[0] : in[1];
    p_.out = out;
    p_.broadcast = p_.b.H != p_.a.H || p_.b.W != p_.a.W;
  }

  void run(const std::vector<FView>&, const FView&, ThreadPool& pool) override {
    const MulParams& p = p_;
    const int64_t row = int64_t(p.out.W) * p.out.C;
    const int64_t grain = row >= 4096 ? 1 : 4096 / (row > 0 ? row : 1);
    parallel_for(pool, int64_t(p.out.N) * p.out.H, grain, [&](int64_t b, int64_t e) { mul_rows(p, b, e); });
  }

 private:
  MulParams p_;
};

}  // namespace

std::shared_ptr<PlanOp> make_mul_op() { return std::make_shared<MulOp>(); }

}  // namespace dirnet
