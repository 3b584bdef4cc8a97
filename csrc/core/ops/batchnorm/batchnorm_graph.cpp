// File op `affine` (eval-mode BatchNorm1d/2d): per-channel fma(x, scale, shift).
// After a conv-like op the planner folds it into that op's epilogue; on its
// own it is an eltwise op.
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_affine(const ParseCtx& ctx, Node& n) {
  const int64_t c = get_int(n, "channels", 1, kMaxCh * 64);
  ctx.vec(n, "scale", c);
  ctx.vec(n, "shift", c);
}

void emit_affine(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  EpiSpec ep;
  const std::vector<float>& a = *n.find("scale");
  const std::vector<float>& b = *n.find("shift");
  ep.A.assign(a.begin(), a.end());
  ep.B.assign(b.begin(), b.end());
  plan.add_eltwise(n.name, ins[0], -1, out, std::move(ep));
}

}  // namespace

const OpHandler kAffineOp = {
    "affine", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_affine, emit_affine};

}  // namespace dirnet
