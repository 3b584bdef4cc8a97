// File op `mul`: the elementwise product of two values of the same rank
// (x * s of squeeze-and-excitation, or a same-shape product). Shapes are
// checked when the plan is resolved for an input size (mul_op.cpp), as for
// `add`.
#include "ops/mul/mul_op.hpp"
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_mul(const ParseCtx& ctx, Node& n) {
  if (ctx.ranks.at(n.inputs[0]) != ctx.ranks.at(n.inputs[1])) throw bad(n.name, "mul of tensors of different rank");
  if (n.attrs && n.attrs->is_object() && !n.attrs->empty())
    throw bad(n.name, "mul takes no attributes, got " + py_repr(*n.attrs));
}

void emit_mul(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_op(n.name, make_mul_op(), ins, out);
}

}  // namespace

const OpHandler kMulOp = {
    "mul", /*inputs=*/2, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_mul, emit_mul};

}  // namespace dirnet
