// File op `flatten` (torch.flatten(x, 1)): NCHW -> (N, C*H*W) in torch's order.
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_flatten(const ParseCtx&, Node&) {}

void emit_flatten(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_flatten(n.name, ins[0], out);
}

}  // namespace

const OpHandler kFlattenOp = {
    "flatten", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/2, Role::NONE, false, ACT_NONE, parse_flatten, emit_flatten};

}  // namespace dirnet
