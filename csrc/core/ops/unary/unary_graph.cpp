// File ops `silu`, `sigmoid`, `hardswish` and `hardsigmoid`: no attributes,
// no tensors, any rank. They are not epilogue activations (Role NONE): a
// conv [+ BN] before them runs fused as usual and they follow as their own
// pass (unary_op.hpp).
#include "ops/unary/unary_op.hpp"
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

// A stray attribute or tensor means the file was meant for another reader:
// refuse rather than silently ignore what it asks for.
void parse_plain(const ParseCtx&, Node& n) {
  if (n.attrs && n.attrs->is_object() && !n.attrs->empty())
    throw bad(n.name, n.op + " takes no attributes, got " + py_repr(*n.attrs));
  if (n.raw && n.raw->contains("tensors")) {
    const nlohmann::json& t = (*n.raw)["tensors"];
    if (!t.is_object() || !t.empty()) throw bad(n.name, n.op + " takes no tensors, got " + py_repr(t));
  }
}

template <int32_t Kind>
void emit_unary(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_op(n.name, make_unary_op(Kind), ins, out);
}

}  // namespace

const OpHandler kSiluOp = {
    "silu", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_plain,
    emit_unary<UNARY_SILU>};

const OpHandler kSigmoidOp = {
    "sigmoid", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_plain,
    emit_unary<UNARY_SIGMOID>};

const OpHandler kHardswishOp = {
    "hardswish", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_plain,
    emit_unary<UNARY_HARDSWISH>};

const OpHandler kHardsigmoidOp = {
    "hardsigmoid", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_plain,
    emit_unary<UNARY_HARDSIGMOID>};

}  // namespace dirnet
