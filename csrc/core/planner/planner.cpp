// The planner passes: parse_graph (validation, one handler parse per op),
// fuse_epilogues (conv-like op + [affine] + [add] + [activation] into one
// Group), value_uses (which values are needed as floats, which packed under
// which input threshold), then emission (groups by the fusion code, every
// other op by its handler's emit). Per-op knowledge is in the op handlers
// (core/ops/*/*_graph.cpp, listed in op_handler.cpp).
//
// Fusions (exact in the sense of docs/deploy.md):
//  * conv / binary conv / linear -> [affine (BN)] -> [+ residual] -> [activation]
//    is one kernel call whose epilogue computes act(A * acc + B + res);
//  * a float value consumed by binary layers is packed by its producer's
//    epilogue when that producer is a conv, else by a separate pack op;
//  * a binary conv whose output is only binarized again writes packed bits
//    through per-channel integer thresholds (thresholds.hpp).
#include "planner/planner.hpp"

#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include "planner/op_handler.hpp"
#include "planner/thresholds.hpp"

namespace dirnet {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxOutputs = 100000;
// Largest (2K + 1) * OC for which thresholds are searched (every dot is evaluated).
constexpr int64_t kThresholdWork = 50000000;

// ---------------------------------------------------------------- parse

struct Graph {
  std::vector<Node> nodes;
  std::vector<OutputInfo> outputs;      // name, rank
  std::vector<std::string> out_values;  // the value of each output
  int in_channels = 0;
};

const json& empty_object() {
  static const json obj = json::object();
  return obj;
}

std::string str_field(const json& raw, const char* key) {
  auto it = raw.find(key);
  return it != raw.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The op's own fields (the loader checked their types already; checked again
// here so a header built in memory cannot crash the planner).
Node read_node(const json& raw, int idx) {
  if (!raw.is_object()) throw FormatError("graph op " + std::to_string(idx) + " is not an object");
  Node n;
  n.idx = idx;
  n.raw = &raw;
  n.op = str_field(raw, "op");
  n.name = str_field(raw, "name");
  n.output = str_field(raw, "output");
  auto ins = raw.find("inputs");
  if (ins == raw.end() || !ins->is_array())
    throw FormatError("graph op " + std::to_string(idx) + " (" + n.name + "): 'inputs' must be a list of value names");
  for (const json& v : *ins) {
    if (!v.is_string())
      throw FormatError("graph op " + std::to_string(idx) + " (" + n.name + "): 'inputs' must be a list of value names");
    n.inputs.push_back(v.get<std::string>());
  }
  auto attrs = raw.find("attrs");
  n.attrs = attrs != raw.end() && attrs->is_object() ? &*attrs : &empty_object();
  return n;
}

// One op: the graph-level checks (values defined once and before use, input
// counts, ranks) around its handler's parse.
void parse_node(const ParseCtx& ctx, std::map<std::string, int>& defined, Node& n, bool& seen_input) {
  const OpHandler* spec = find_op(n.op);
  if (!spec) throw bad(n.name, "unknown op type " + py_repr(n.op) + " (this dirnet knows " + known_ops() + ")");
  n.spec = spec;
  if (defined.count(n.output)) throw bad(n.name, "value " + py_repr(n.output) + " is defined twice");
  for (const std::string& v : n.inputs)
    if (!defined.count(v)) throw bad(n.name, "input " + py_repr(v) + " is not computed before this op");
  if (spec->inputs == kAnyInputs ? n.inputs.empty() : int(n.inputs.size()) != spec->inputs)
    throw bad(n.name, n.op + " takes " + (spec->inputs == kAnyInputs ? "at least 1" : std::to_string(spec->inputs)) +
                          " input(s), got " + std::to_string(n.inputs.size()));
  n.rank = n.inputs.empty() ? 4 : defined.at(n.inputs[0]);
  if (n.op == "input") {
    if (seen_input) throw bad(n.name, "more than one input op");
    seen_input = true;
  }
  spec->parse(ctx, n);
  if (spec->out_rank) n.rank = spec->out_rank;
  if (spec->in_rank == 4 && n.rank != 4) throw bad(n.name, n.op + " needs a 4-D input");
  if (spec->in_rank == 2 && defined.at(n.inputs[0]) != 2) throw bad(n.name, n.op + " needs a 2-D (N, features) input");
  defined[n.output] = n.rank;
}

// "outputs": [{"name", "value"}, ...] (a model returning a tuple, list or
// dict), else "output": one output named after its value.
void read_outputs(const json& header, const std::map<std::string, int>& defined, Graph& g) {
  std::vector<std::pair<std::string, std::string>> outs;  // name, value
  auto list = header.find("outputs");
  if (list != header.end() && !list->is_null()) {
    if (!list->is_array() || list->empty() || list->size() > kMaxOutputs)
      throw FormatError("'outputs' must be a non-empty list of {\"name\", \"value\"} objects");
    std::set<std::string> names;
    for (const json& o : *list) {
      if (!o.is_object() || !o.contains("name") || !o.contains("value") || !o["name"].is_string() ||
          !o["value"].is_string())
        throw FormatError("'outputs' must be a non-empty list of {\"name\", \"value\"} objects");
      const std::string name = o["name"].get<std::string>();
      if (!names.insert(name).second) throw FormatError("output name " + py_repr(name) + " appears twice");
      outs.emplace_back(name, o["value"].get<std::string>());
    }
  } else {
    auto one = header.find("output");
    if (one == header.end() || !one->is_string()) throw FormatError("missing graph output");
    outs.emplace_back(one->get<std::string>(), one->get<std::string>());
  }
  for (const auto& [name, value] : outs) {
    auto it = defined.find(value);
    if (it == defined.end()) throw FormatError("graph output " + py_repr(value) + " is not computed by any op");
    if (it->second != 2 && it->second != 4)
      throw FormatError("graph output " + py_repr(value) + " must have rank 2 or 4");
    g.outputs.push_back(OutputInfo{name, it->second});
    g.out_values.push_back(value);
  }
}

Graph parse_graph(const DbnnFile& file) {
  const json& h = file.header;
  Graph g;
  auto input = h.find("input");
  if (input == h.end() || !input->is_object() || !input->contains("channels") ||
      !(*input)["channels"].is_number_integer())
    throw FormatError("missing 'input' description");
  g.in_channels = (*input)["channels"].get<int>();
  auto graph = h.find("graph");
  if (graph == h.end() || !graph->is_array() || graph->empty())
    throw FormatError("graph must be a non-empty list of ops");
  std::map<std::string, int> defined;  // value -> rank
  ParseCtx ctx{file, g.in_channels, defined};
  bool seen_input = false;
  int idx = 0;
  for (const json& raw : *graph) {
    g.nodes.push_back(read_node(raw, idx++));
    parse_node(ctx, defined, g.nodes.back(), seen_input);
  }
  if (!seen_input || g.nodes[0].op != "input") throw FormatError("graph must start with its input op");
  read_outputs(h, defined, g);
  return g;
}

// ---------------------------------------------------------------- fusion

struct Group {  // a conv-like op with what its epilogue absorbed
  int conv = -1;
  std::vector<int> members;
  std::string out_value;
  std::vector<double> A, B;  // fp64, as the products and sums are formed before the one rounding to fp32
  bool has_residual = false;
  std::string residual;
  int act = ACT_NONE;
  float lo = -1.f, hi = 1.f;
  std::vector<float> slope;  // PReLU: one per output channel
};

// Who consumes each value.
struct Uses {
  std::set<std::string> outputs;
  std::map<std::string, int> producer;
  std::map<std::string, std::vector<int>> consumers;

  Uses(const Graph& g) : outputs(g.out_values.begin(), g.out_values.end()) {
    for (const Node& n : g.nodes) {
      producer[n.output] = n.idx;
      consumers[n.output];
    }
    for (const Node& n : g.nodes)
      for (const std::string& v : n.inputs) consumers[v].push_back(n.idx);
  }
  // Its one consumer, if it has exactly one and is not a graph output; else -1.
  int single(const std::string& v) const {
    const std::vector<int>& c = consumers.at(v);
    return c.size() == 1 && !outputs.count(v) ? c[0] : -1;
  }
};

// A, B of the conv's own output: binary scale and bias, or 1 and bias.
void conv_affine(const Node& n, std::vector<double>& A, std::vector<double>& B) {
  A.assign(size_t(n.OC), 1.0);
  B.assign(size_t(n.OC), 0.0);
  if (n.spec->binary) {
    const std::vector<float>& s = *n.find("scale");
    for (int i = 0; i < n.OC; ++i) A[size_t(i)] = s[size_t(i)];
  }
  if (const std::vector<float>* b = n.find("bias"))
    for (int i = 0; i < n.OC; ++i) B[size_t(i)] = (*b)[size_t(i)];
  // int8: the sum of x_q * w_q times s_x * s_w[oc] (fp64, rounded to fp32 once
  // with the BN scale that may still multiply it)
  for (size_t i = 0; i < n.qscale.size(); ++i) A[i] *= n.qscale[i];
}

// An op with emit_fused (gconv2d) and the affine [+ relu/hardtanh] after it.
struct Tail {
  int head = -1;
  std::vector<int> members;
  std::string out_value;
  FusedEpilogue ep;
};

struct Fusion {
  std::map<int, Group> groups;  // keyed by the index of their last member
  std::map<int, Tail> tails;    // the same, for fuse_tails
  std::set<int> member;         // the other absorbed nodes (not emitted on their own)
};

// Each conv-like op absorbs a following [affine] [add] [activation] chain.
Fusion fuse_epilogues(const Graph& g, const Uses& uses) {
  Fusion f;
  std::set<int> taken;  // every member of an earlier group
  for (const Node& n : g.nodes) {
    if (n.spec->role != Role::CONV) continue;
    Group gr;
    gr.conv = n.idx;
    gr.members = {n.idx};
    gr.out_value = n.output;
    conv_affine(n, gr.A, gr.B);
    auto next = [&]() -> const Node* {
      const int c = uses.single(gr.out_value);
      return c < 0 || taken.count(c) ? nullptr : &g.nodes[size_t(c)];
    };
    const Node* nxt = next();
    if (nxt && nxt->op == "affine" && nxt->find("scale")->size() == gr.A.size()) {
      const std::vector<float>& a = *nxt->find("scale");
      const std::vector<float>& s = *nxt->find("shift");
      for (size_t i = 0; i < gr.A.size(); ++i) {
        const double ai = a[i];
        gr.A[i] = ai * gr.A[i];
        gr.B[i] = ai * gr.B[i] + double(s[i]);
      }
      gr.members.push_back(nxt->idx);
      gr.out_value = nxt->output;
      nxt = next();
    }
    if (nxt && nxt->op == "add") {
      const std::string& other = nxt->inputs[0] == gr.out_value ? nxt->inputs[1] : nxt->inputs[0];
      if (other != gr.out_value) {
        gr.has_residual = true;
        gr.residual = other;
        gr.members.push_back(nxt->idx);
        gr.out_value = nxt->output;
        nxt = next();
      }
    }
    if (nxt && nxt->spec->role == Role::ACT) {
      const std::vector<float>* slope = nxt->find("slope");
      if (!slope || slope->size() == 1 || slope->size() == gr.A.size()) {
        gr.act = nxt->spec->act_code;
        gr.lo = nxt->lo;
        gr.hi = nxt->hi;
        if (slope) {
          gr.slope.resize(gr.A.size());
          for (size_t i = 0; i < gr.A.size(); ++i) gr.slope[i] = (*slope)[slope->size() == 1 ? 0 : i];
        }
        gr.members.push_back(nxt->idx);
        gr.out_value = nxt->output;
      }
    }
    for (size_t i = 0; i + 1 < gr.members.size(); ++i) f.member.insert(gr.members[i]);
    for (int m : gr.members) taken.insert(m);
    const int last = gr.members.back();
    f.groups.emplace(last, std::move(gr));
  }
  return f;
}

// Each op offering emit_fused absorbs a following [affine] [relu/hardtanh]
// (single consumers, not taken by a conv group). Kept apart from
// fuse_epilogues: these ops have no residual, packed or threshold outputs.
void fuse_tails(const Graph& g, const Uses& uses, Fusion& f) {
  for (const Node& n : g.nodes) {
    if (!n.spec->emit_fused || f.member.count(n.idx) || f.groups.count(n.idx)) continue;
    Tail t;
    t.head = n.idx;
    t.members = {n.idx};
    t.out_value = n.output;
    auto next = [&]() -> const Node* {
      const int c = uses.single(t.out_value);
      if (c < 0 || f.member.count(c) || f.groups.count(c) || f.tails.count(c)) return nullptr;
      return &g.nodes[size_t(c)];
    };
    const Node* nxt = next();
    if (nxt && nxt->op == "affine" && nxt->find("scale")->size() == size_t(n.OC)) {
      const std::vector<float>& a = *nxt->find("scale");
      const std::vector<float>& s = *nxt->find("shift");
      const std::vector<float>* bias = n.find("bias");
      t.ep.A = a;
      t.ep.B.resize(a.size());
      for (size_t i = 0; i < a.size(); ++i)  // the bias moves behind the scale: one rounding, in fp64
        t.ep.B[i] = float(double(a[i]) * (bias ? double((*bias)[i]) : 0.0) + double(s[i]));
      t.members.push_back(nxt->idx);
      t.out_value = nxt->output;
      nxt = next();
    }
    if (nxt && (nxt->spec->act_code == ACT_RELU || nxt->spec->act_code == ACT_HARDTANH) &&
        nxt->spec->role == Role::ACT) {
      t.ep.act = nxt->spec->act_code;
      t.ep.lo = nxt->lo;
      t.ep.hi = nxt->hi;
      t.members.push_back(nxt->idx);
      t.out_value = nxt->output;
    }
    if (t.members.size() == 1) continue;
    if (t.ep.A.empty() && n.find("bias")) t.ep.B = *n.find("bias");  // activation only
    for (size_t i = 0; i + 1 < t.members.size(); ++i) f.member.insert(t.members[i]);
    const int last = t.members.back();
    f.tails.emplace(last, std::move(t));
  }
}

// ---------------------------------------------------------------- value uses

// A binary layer's input threshold (absent: 0), compared bit for bit.
struct ThrKey {
  bool present = false;
  std::vector<float> v;
  bool operator==(const ThrKey& o) const {
    return present == o.present && v.size() == o.v.size() &&
           (v.empty() || std::memcmp(v.data(), o.v.data(), v.size() * sizeof(float)) == 0);
  }
};

ThrKey thr_key(const Node& conv) {
  ThrKey k;
  if (const std::vector<float>* t = conv.find("in_threshold")) {
    k.present = true;
    k.v = *t;
  }
  return k;
}

struct ValueUses {
  std::set<std::string> needs_float;
  std::map<std::string, std::vector<ThrKey>> packed;  // value -> its packed forms, in first-use order
};

ValueUses value_uses(const Graph& g, const Fusion& f) {
  ValueUses u;
  u.needs_float.insert(g.out_values.begin(), g.out_values.end());
  for (const Node& n : g.nodes) {
    if (f.member.count(n.idx)) continue;
    auto tail = f.tails.find(n.idx);
    if (tail != f.tails.end()) {
      const Node& head = g.nodes[size_t(tail->second.head)];
      u.needs_float.insert(head.inputs.begin(), head.inputs.end());
      continue;
    }
    auto it = f.groups.find(n.idx);
    if (it == f.groups.end()) {
      u.needs_float.insert(n.inputs.begin(), n.inputs.end());
      continue;
    }
    const Group& gr = it->second;
    const Node& conv = g.nodes[size_t(gr.conv)];
    if (conv.spec->binary) {
      std::vector<ThrKey>& keys = u.packed[conv.inputs[0]];
      ThrKey k = thr_key(conv);
      bool seen = false;
      for (const ThrKey& e : keys) seen = seen || e == k;
      if (!seen) keys.push_back(std::move(k));
    } else {
      u.needs_float.insert(conv.inputs[0]);
    }
    if (gr.has_residual) u.needs_float.insert(gr.residual);
  }
  return u;
}

// ---------------------------------------------------------------- emission

template <typename T>
AVec<T> avec(const std::vector<T>& v) {
  return AVec<T>(v.begin(), v.end());
}

class Emitter {
 public:
  Emitter(const Graph& g, const Uses& uses, const Fusion& f, const ValueUses& vu, Plan& plan)
      : g_(g), uses_(uses), f_(f), vu_(vu), plan_(plan) {}

  std::vector<std::string> run() {
    for (const Node& n : g_.nodes) {
      if (f_.member.count(n.idx)) continue;
      if (n.op == "input") {
        const int t = plan_.add_tensor(0, g_.in_channels);
        plan_.set_input(t, g_.in_channels);
        ftensor_[n.output] = t;
        emit_packs(n.output, nullptr);
        continue;
      }
      auto it = f_.groups.find(n.idx);
      if (it != f_.groups.end()) {
        emit_group(it->second);
        continue;
      }
      auto tail = f_.tails.find(n.idx);
      if (tail != f_.tails.end()) {
        emit_tail(tail->second);
        continue;
      }
      emit_standalone(n);
    }
    for (const std::string& v : g_.out_values) {
      auto it = ftensor_.find(v);
      if (it == ftensor_.end()) throw FormatError("graph output " + py_repr(v) + " is not a float value");
      plan_.add_output(it->second);
    }
    return std::move(describe_);
  }

 private:
  int new_f(const std::string& v) {
    const int t = plan_.add_tensor(0, -1);
    ftensor_[v] = t;
    return t;
  }

  int& btensor(const std::string& v, const ThrKey& k) {
    for (auto& e : btensor_[v])
      if (e.first == k) return e.second;
    btensor_[v].emplace_back(k, -1);
    return btensor_[v].back().second;
  }

  const std::vector<ThrKey>& keys_of(const std::string& v) const {
    static const std::vector<ThrKey> none;
    auto it = vu_.packed.find(v);
    return it == vu_.packed.end() ? none : it->second;
  }

  // Pack ops for the packed forms of v that its producer did not write itself.
  void emit_packs(const std::string& v, const ThrKey* fused) {
    for (const ThrKey& k : keys_of(v)) {
      if (fused && k == *fused) continue;
      const int t = plan_.add_tensor(1, -1);
      btensor(v, k) = t;
      plan_.add_pack("pack(" + g_.nodes[size_t(uses_.producer.at(v))].name + ")", ftensor_.at(v), t, avec(k.v));
      describe_.push_back("pack " + v);
    }
  }

  int ftensor(const std::string& v, const std::string& op) const {
    auto it = ftensor_.find(v);
    if (it == ftensor_.end()) throw bad(op, "input " + py_repr(v) + " is not a float value");
    return it->second;
  }

  void emit_standalone(const Node& n) {
    std::vector<int> ins;
    for (const std::string& v : n.inputs) ins.push_back(ftensor(v, n.name));
    const int out = new_f(n.output);
    n.spec->emit(plan_, n, ins, out);
    describe_.push_back(n.op + " " + n.name);
    emit_packs(n.output, nullptr);
  }

  void emit_tail(const Tail& t) {
    const Node& head = g_.nodes[size_t(t.head)];
    std::vector<int> ins;
    for (const std::string& v : head.inputs) ins.push_back(ftensor(v, head.name));
    const int out = new_f(t.out_value);
    std::string label;
    for (size_t i = 0; i < t.members.size(); ++i) label += (i ? "+" : "") + g_.nodes[size_t(t.members[i])].name;
    Node named = head;  // the plan op carries the fused label, as conv groups do
    named.name = label;
    head.spec->emit_fused(plan_, named, ins, out, t.ep);
    describe_.push_back(head.op + " " + label);
    emit_packs(t.out_value, nullptr);
  }

  void emit_group(const Group& gr);

  const Graph& g_;
  const Uses& uses_;
  const Fusion& f_;
  const ValueUses& vu_;
  Plan& plan_;
  std::map<std::string, int> ftensor_;
  std::map<std::string, std::vector<std::pair<ThrKey, int>>> btensor_;
  std::vector<std::string> describe_;
};

// The next layer's threshold per output channel: as given, or one value for
// every channel (numpy's broadcasting in the Python planner this replaces).
std::vector<float> thr_per_channel(const ThrKey& k, int OC) {
  if (!k.present) return {};
  if (k.v.size() == size_t(OC)) return k.v;
  if (k.v.size() == 1 || OC == 1) return std::vector<float>(size_t(OC), k.v[0]);
  throw std::invalid_argument("the next layer's input threshold has " + std::to_string(k.v.size()) +
                              " values for " + std::to_string(OC) + " channels");
}

void Emitter::emit_group(const Group& gr) {
  const Node& conv = g_.nodes[size_t(gr.conv)];
  const std::string& v = gr.out_value;
  const std::vector<ThrKey>& keys = keys_of(v);
  const ThrKey* fuse_key = keys.size() == 1 ? &keys[0] : nullptr;
  int out_f = vu_.needs_float.count(v) ? new_f(v) : -1;
  int out_b = -1;
  if (fuse_key) {
    out_b = plan_.add_tensor(1, -1);
    btensor(v, *fuse_key) = out_b;
  }
  if (out_f < 0 && out_b < 0) out_f = new_f(v);  // value unused (dead branch): still compute it
  const int res = gr.has_residual ? ftensor(gr.residual, conv.name) : -1;
  const int OC = conv.OC;
  EpiSpec ep;
  ep.A.resize(size_t(OC));
  ep.B.resize(size_t(OC));
  for (int i = 0; i < OC; ++i) {
    ep.A[size_t(i)] = float(gr.A[size_t(i)]);
    ep.B[size_t(i)] = float(gr.B[size_t(i)]);
  }
  ep.act = gr.act;
  ep.lo = gr.lo;
  ep.hi = gr.hi;
  ep.slope = avec(gr.slope);
  if (fuse_key) ep.thr = avec(fuse_key->v);
  std::string label = conv.name;
  if (gr.members.size() > 1) {
    label.clear();
    for (size_t i = 0; i < gr.members.size(); ++i) label += (i ? "+" : "") + g_.nodes[size_t(gr.members[i])].name;
  }
  const ConvGeometry& geo = conv.geom;
  const int ic = geo.in_channels;
  if (conv.spec->binary) {
    const int src = btensor(conv.inputs[0], thr_key(conv));
    if (src < 0) throw bad(conv.name, "packed input is not computed before this op");
    const int words = int((int64_t(ic) + 63) / 64);
    const int64_t kbits = int64_t(ic) * conv.KH * conv.KW;
    bool thresh = false;
    if (out_f < 0 && res < 0 && out_b >= 0 && (2 * kbits + 1) * OC <= kThresholdWork) {
      // dots (zero-padding corrected too) lie in [-K, K]
      const std::vector<float> thr = thr_per_channel(*fuse_key, OC);
      IntThresholds it;
      if (integer_thresholds(ep.A.data(), ep.B.data(), OC, kbits, gr.act, gr.lo, gr.hi,
                             thr.empty() ? nullptr : thr.data(), gr.slope.empty() ? nullptr : gr.slope.data(), it)) {
        EpiSpec te;
        te.T = avec(it.T);
        te.sgn = avec(it.sgn);
        plan_.add_bconv(label, src, -1, out_b, -1, conv.wb.data(), OC, ic, words, conv.KH, conv.KW, geo.stride,
                        geo.pads, geo.dil, geo.zero_pad, std::move(te));
        describe_.push_back("bconv " + label + " [threshold epilogue]");
        thresh = true;
      }
    }
    if (!thresh) {
      plan_.add_bconv(label, src, out_f, out_b, res, conv.wb.data(), OC, ic, words, conv.KH, conv.KW, geo.stride,
                      geo.pads, geo.dil, geo.zero_pad, std::move(ep));
      describe_.push_back("bconv " + label);
    }
  } else if (!conv.wq.empty()) {
    plan_.add_qconv(label, ftensor(conv.inputs[0], conv.name), out_f, out_b, res, conv.wq.data(), conv.in_scale, OC,
                    ic, conv.KH, conv.KW, geo.stride, geo.pads, geo.dil, std::move(ep));
    describe_.push_back("qconv " + label);
  } else {
    plan_.add_conv(label, ftensor(conv.inputs[0], conv.name), out_f, out_b, res, conv.wf.data(), OC, ic, conv.KH,
                   conv.KW, geo.stride, geo.pads, geo.dil, std::move(ep));
    describe_.push_back("conv " + label);
  }
  if (out_f >= 0) emit_packs(v, fuse_key);
}

}  // namespace

PlannedGraph plan_graph(const DbnnFile& file, const ModelOptions& opt) {
  // Bad options are the caller's error (std::invalid_argument), not the file's.
  PlannedGraph out;
  out.plan = std::make_unique<Plan>(opt.threads, opt.kernel_path);
  if (opt.max_bytes) out.plan->set_max_bytes(opt.max_bytes);
  try {
    const Graph g = parse_graph(file);
    const Uses uses(g);
    Fusion f = fuse_epilogues(g, uses);
    fuse_tails(g, uses, f);
    const ValueUses vu = value_uses(g, f);
    out.describe = Emitter(g, uses, f, vu, *out.plan).run();
    out.in_channels = g.in_channels;
    out.outputs = g.outputs;
  } catch (const FormatError&) {
    throw;
  } catch (const std::invalid_argument& e) {  // rejected by the plan builder
    throw FormatError(file.where + ": invalid graph: " + e.what());
  } catch (const std::out_of_range& e) {
    throw FormatError(file.where + ": invalid graph: " + e.what());
  } catch (const std::length_error& e) {
    throw FormatError(file.where + ": invalid graph: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(file.where + ": invalid graph: " + e.what());
  }
  return out;
}

}  // namespace dirnet
