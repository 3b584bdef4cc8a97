// File ops `maxpool2d`, `avgpool2d` and `adaptive_avgpool2d` (4-D inputs).
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

struct Window {
  std::vector<int> k, s, p;
};

// kernel, stride and padding (at most half the kernel, as torch requires)
Window parse_window(const Node& n) {
  Window w;
  w.k = get_ints(n, "kernel", 2, 1, 64);
  w.s = get_ints(n, "stride", 2, 1, 64);
  w.p = get_ints(n, "padding", 2, 0, 32);
  if (w.p[0] * 2 > w.k[0] || w.p[1] * 2 > w.k[1]) throw bad(n.name, "padding must be at most half the kernel");
  return w;
}

bool ceil_mode(const Node& n) { return get_bool(n, "ceil_mode", "ceil_mode must be a boolean"); }

void parse_maxpool(const ParseCtx&, Node& n) {
  parse_window(n);
  get_ints(n, "dilation", 2, 1, 64);
  ceil_mode(n);
}

void emit_maxpool(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  const Node& m = n;  // parse checked every attribute already
  const Window w = parse_window(m);
  const std::vector<int> d = get_ints(m, "dilation", 2, 1, 64);
  plan.add_maxpool(n.name, ins[0], out, w.k.data(), w.s.data(), w.p.data(), d.data(), ceil_mode(m));
}

void parse_avgpool(const ParseCtx&, Node& n) {
  parse_window(n);
  get_int(n, "divisor", 0, int64_t(1) << 20);
  get_bool(n, "count_include_pad", "count_include_pad must be a boolean");
  ceil_mode(n);
}

void emit_avgpool(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  const Node& m = n;
  const Window w = parse_window(m);
  const int divisor = int(get_int(m, "divisor", 0, int64_t(1) << 20));
  const bool cip = get_bool(m, "count_include_pad", "count_include_pad must be a boolean");
  plan.add_avgpool(n.name, ins[0], out, w.k.data(), w.s.data(), w.p.data(), ceil_mode(m), cip, divisor);
}

void parse_adaptive(const ParseCtx&, Node& n) { get_ints(n, "output_size", 2, 1, kMaxCh); }

void emit_adaptive(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  const std::vector<int> s = get_ints(n, "output_size", 2, 1, kMaxCh);
  plan.add_adaptive_avg(n.name, ins[0], out, s[0], s[1]);
}

}  // namespace

const OpHandler kMaxpool2dOp = {
    "maxpool2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_maxpool, emit_maxpool};

const OpHandler kAvgpool2dOp = {
    "avgpool2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_avgpool, emit_avgpool};

const OpHandler kAdaptiveAvgpool2dOp = {
    "adaptive_avgpool2d", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_adaptive,
    emit_adaptive};

}  // namespace dirnet
