// File op `shortcut_a` (the CIFAR ResNets' parameter-free option-A shortcut):
// subsample by `stride`, zero channels before and after.
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_shortcut(const ParseCtx&, Node& n) {
  get_int(n, "stride", 1, 64);
  get_int(n, "pad_before", 0, kMaxCh);
  get_int(n, "pad_after", 0, kMaxCh);
}

void emit_shortcut(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_shortcut_a(n.name, ins[0], out, int(get_int(n, "stride", 1, 64)), int(get_int(n, "pad_before", 0, kMaxCh)),
                      int(get_int(n, "pad_after", 0, kMaxCh)));
}

}  // namespace

const OpHandler kShortcutAOp = {
    "shortcut_a", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_shortcut,
    emit_shortcut};

}  // namespace dirnet
