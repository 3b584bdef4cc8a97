// File op `add` (the residual '+'). After a conv-like op (+ BN) the planner
// folds it into that op's epilogue; on its own it is an eltwise op.
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_add(const ParseCtx& ctx, Node& n) {
  if (ctx.ranks.at(n.inputs[0]) != ctx.ranks.at(n.inputs[1])) throw bad(n.name, "add of tensors of different rank");
}

void emit_add(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_eltwise(n.name, ins[0], ins[1], out, EpiSpec());
}

}  // namespace

const OpHandler kAddOp = {
    "add", /*inputs=*/2, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_add, emit_add};

}  // namespace dirnet
