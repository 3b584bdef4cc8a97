// File ops `slice` (start, stop, step on H and W), `pad` (zeros, [top, left,
// bottom, right]) and `zero` (stride): 4-D float inputs, no tensors; each
// emitted on its own as a PlanOp of spatial_ops.hpp.
#include <memory>

#include "ops/spatial/spatial_ops.hpp"
#include "planner/op_handler.hpp"

namespace dirnet {

namespace {

constexpr int64_t kMaxIndex = int64_t(1) << 30;  // the exporter's "to the end" bound

// stop: two entries, each null (to the end: -1) or an integer in [0, 2^30].
std::vector<int> parse_stop(const Node& n) {
  auto it = n.attrs->find("stop");
  bool ok = it != n.attrs->end() && it->is_array() && it->size() == 2;
  std::vector<int> out;
  if (ok)
    for (const nlohmann::json& e : *it) {
      if (e.is_null()) { out.push_back(-1); continue; }
      if (!(e.is_number_integer() || e.is_number_unsigned()) || e.get<int64_t>() < 0 || e.get<int64_t>() > kMaxIndex) {
        ok = false;
        break;
      }
      out.push_back(int(e.get<int64_t>()));
    }
  if (!ok)
    throw bad(n.name, "attribute 'stop' must be 2 entries, each null or an integer in [0, " +
                          std::to_string(kMaxIndex) + "], got " + (it == n.attrs->end() ? "None" : py_repr(*it)));
  return out;
}

void parse_slice(const ParseCtx&, Node& n) {
  get_ints(n, "start", 2, 0, kMaxIndex);
  get_ints(n, "step", 2, 1, 64);
  parse_stop(n);
}

void emit_slice(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  const std::vector<int> start = get_ints(n, "start", 2, 0, kMaxIndex), step = get_ints(n, "step", 2, 1, 64);
  const std::vector<int> stop = parse_stop(n);
  plan.add_op(n.name, std::make_shared<SliceOp>(start.data(), stop.data(), step.data()), ins, out);
}

void parse_pad(const ParseCtx&, Node& n) { get_ints(n, "padding", 4, 0, 64); }

void emit_pad(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  const std::vector<int> p = get_ints(n, "padding", 4, 0, 64);
  plan.add_op(n.name, std::make_shared<PadOp>(p.data()), ins, out);
}

void parse_zero(const ParseCtx&, Node& n) { get_int(n, "stride", 1, 64); }

void emit_zero(Plan& plan, const Node& n, const std::vector<int>& ins, int out) {
  plan.add_op(n.name, std::make_shared<ZeroOp>(int(get_int(n, "stride", 1, 64))), ins, out);
}

}  // namespace

const OpHandler kSliceOp = {
    "slice", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_slice, emit_slice};

const OpHandler kPadOp = {
    "pad", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_pad, emit_pad};

const OpHandler kZeroOp = {
    "zero", /*inputs=*/1, /*in_rank=*/4, /*out_rank=*/0, Role::NONE, false, ACT_NONE, parse_zero, emit_zero};

}  // namespace dirnet
