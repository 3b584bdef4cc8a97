// File op `concat` (torch.cat of 4-D tensors along the channels): one or more
// inputs, no attributes, no tensors. Emitted on its own as a ConcatOp.
#include <memory>

#include "ops/concat/concat_op.hpp"
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_concat(const ParseCtx& ctx, Node& n) {
  if (n.inputs.size() > 65536) throw bad(n.name, "concat takes at most 65536 inputs");
  for (const std::string& v : n.inputs)
    if (ctx.ranks.at(v) != 4) throw bad(n.name, "concat needs 4-D inputs, " + py_repr(v) + " is not");
}

void emit_concat(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_op(n.name, std::make_shared<ConcatOp>(), ins, out);
}

}  // namespace

const OpHandler kConcatOp = {
    "concat", /*inputs=*/kAnyInputs, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, /*binary=*/false, ACT_NONE,
    parse_concat, emit_concat};

}  // namespace dirnet
