// File op `input`: the graph's one input. The planner turns it into the
// plan's input tensor itself (no emit).
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_input(const ParseCtx& ctx, Node& n) {
  if (get_int(n, "channels", 1, 65536) != ctx.in_channels) throw bad(n.name, "input channels differ from the header");
}

}  // namespace

const OpHandler kInputOp = {
    "input", /*inputs=*/0, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_input, nullptr};

}  // namespace dirnet
