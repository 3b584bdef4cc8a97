// File ops `hardtanh` (min, max), `relu` and `prelu` (slope per channel or
// one shared). Role ACT: after a conv-like op [+ BN] [+ residual] the planner
// fuses them into that op's epilogue; on their own they are an eltwise op.
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

void parse_hardtanh(const ParseCtx&, Node& n) {
  const double lo = get_float(n, "min"), hi = get_float(n, "max");
  if (!(lo <= hi)) throw bad(n.name, "hardtanh needs min <= max");
  // the kernels compare in fp32 (as the Python planner handed them over)
  n.lo = float(lo);
  n.hi = float(hi);
}

void parse_relu(const ParseCtx&, Node&) {}

void parse_prelu(const ParseCtx& ctx, Node& n) {
  const TensorRef* t = ctx.lookup(n, "slope");
  if (!t || t->shape.size() != 1 || t->shape[0] < 1 || t->shape[0] > kMaxCh)
    throw bad(n.name, "missing or malformed PReLU slope");
  ctx.vec(n, "slope", t->shape[0]);
}

void emit_act(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  EpiSpec ep;
  ep.act = n.spec->act_code;
  ep.lo = n.lo;
  ep.hi = n.hi;
  if (const std::vector<float>* s = n.find("slope")) ep.slope.assign(s->begin(), s->end());
  plan.add_eltwise(n.name, ins[0], -1, out, std::move(ep));
}

}  // namespace

const OpHandler kHardtanhOp = {
    "hardtanh", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::ACT, false, ACT_HARDTANH, parse_hardtanh, emit_act};

const OpHandler kReluOp = {
    "relu", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::ACT, false, ACT_RELU, parse_relu, emit_act};

const OpHandler kPreluOp = {
    "prelu", /*inputs=*/1, /*in_rank=*/0, /*out_rank=*/0, Role::ACT, false, ACT_PRELU, parse_prelu, emit_act};

}  // namespace dirnet
