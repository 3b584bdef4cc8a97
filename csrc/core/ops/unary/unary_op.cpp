#include "ops/unary/unary_op.hpp"

#include <stdexcept>

namespace dirnet {

namespace {

class UnaryOp : public PlanOp {
 public:
  explicit UnaryOp(int32_t kind) { p_.kind = kind; }

  Shape4 output_shape(const std::vector<Shape4>& in) const override {
    if (in.size() != 1) throw std::invalid_argument("takes one input");
    return in[0];
  }

  void prepare(const std::vector<FView>& in, const FView& out, const std::string& path) override {
    p_.in = in[0];
    p_.out = out;
    kernel_ = &unary_kernel(path);
  }

  void run(const std::vector<FView>&, const FView&, ThreadPool& pool) override {
    const UnaryParams& p = p_;
    const UnaryKernel& k = *kernel_;
    // a row is W * C floats: enough rows per chunk that small maps are not split too finely
    const int64_t row = int64_t(p.out.W) * p.out.C;
    const int64_t grain = row >= 4096 ? 1 : 4096 / (row > 0 ? row : 1);
    parallel_for(pool, k.items(p), grain, [&](int64_t b, int64_t e) { k.run(p, b, e); });
  }

 private:
  UnaryParams p_;
  const UnaryKernel* kernel_ = nullptr;
};

}  // namespace

std::shared_ptr<PlanOp> make_unary_op(int32_t kind) {
  if (kind < UNARY_SILU || kind > UNARY_HARDSIGMOID) throw std::invalid_argument("unknown unary activation");
  return std::make_shared<UnaryOp>(kind);
}

}  // namespace dirnet
