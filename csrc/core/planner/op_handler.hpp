// What the planner knows of one file op, and the helpers every op's checks share.
//
// Each op family has one `*_graph.cpp` in its folder under core/ops/ that
// defines its handler(s): how the op's attributes and tensors are validated
// (`parse`, a FormatError naming the op on anything unexpected), how many
// inputs it takes, which rank it needs and produces, its role for the
// epilogue fusion (conv-like producer, activation) and how it is emitted into
// the Plan when no fusion absorbed it. The planner passes (planner.cpp) know
// no op by itself; they read these handlers from the list in registry.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/plan.hpp"
#include "loader/dbnn.hpp"

namespace dirnet {

constexpr int64_t kMaxCh = int64_t(1) << 20;  // channel / feature limit of attributes

enum class Role { NONE, CONV, ACT };

// The kernel geometry of a conv-like op (a linear layer is a 1x1 conv on a 1x1 image).
struct ConvGeometry {
  int in_channels = 0;
  int stride[2] = {1, 1};
  int pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
  int dil[2] = {1, 1};
  bool zero_pad = false;       // binary convs: pad_value 0 (zero padding) instead of +1
};

struct OpHandler;

// One op of the file's graph, with what its handler's parse read off it.
struct Node {
  int idx = 0;
  std::string op, name, output;
  std::vector<std::string> inputs;
  const nlohmann::json* raw = nullptr;    // the op's JSON object
  const nlohmann::json* attrs = nullptr;  // its "attrs" (an empty object when absent)
  int rank = 4;
  const OpHandler* spec = nullptr;
  // filled by parse
  std::map<std::string, std::vector<float>> vec;  // per-channel vectors present in the file
  std::vector<float> wf;                          // full-precision weight [OC][C][KH][KW]
  std::vector<uint64_t> wb;                       // packed weight [OC][KH][KW][words]
  std::vector<int8_t> wq;                         // int8 weight [OC][C][KH][KW] (qconv2d, qlinear)
  float in_scale = 0.f;                           // int8: the input's scale s_x
  std::vector<double> qscale;                     // int8: s_x * s_w[oc], folded into the epilogue
  int OC = 0, KH = 1, KW = 1;                     // weight dimensions (conv role)
  ConvGeometry geom;                              // conv role
  float lo = -1.f, hi = 1.f;                      // act role: hardtanh bounds

  const std::vector<float>* find(const std::string& key) const {
    auto it = vec.find(key);
    return it == vec.end() ? nullptr : &it->second;
  }
};

// The file's tensors, handed out only with the dtype and shape an op implies.
struct ParseCtx {
  const DbnnFile& file;
  int in_channels = 0;                         // the header's input channels
  const std::map<std::string, int>& ranks;     // value -> rank of the values defined so far

  // The tensor `key` of the op: nullptr when absent and not required; a
  // FormatError when absent and required, not in the file, or of another
  // dtype or shape.
  const TensorRef* get(const Node& n, const std::string& key, const std::vector<DType>& dtypes,
                       const std::vector<int64_t>& shape, bool required = true) const;
  // A float32 vector of n values; false when absent and not required.
  bool vec(Node& n, const std::string& key, int64_t n_values, bool required = true) const;
  // The referenced tensor itself, unchecked (nullptr when the reference is missing or dangling).
  const TensorRef* lookup(const Node& n, const std::string& key) const;
};

// A per-channel epilogue act(A * x + B) the planner folds into an op that
// offers emit_fused (a following affine and relu/hardtanh; empty A/B: 1, 0).
struct FusedEpilogue {
  std::vector<float> A, B;
  int act = ACT_NONE;  // ACT_NONE, ACT_RELU or ACT_HARDTANH
  float lo = -1.f, hi = 1.f;
};

// OpHandler::inputs of an op taking one or more inputs (concat).
constexpr int kAnyInputs = -1;

struct OpHandler {
  const char* name;              // the file op type
  int inputs = 1;                // kAnyInputs: one or more
  int in_rank = 0;               // required rank of the first input (0: any)
  int out_rank = 0;              // rank of the output (0: that of the first input)
  Role role = Role::NONE;
  bool binary = false;           // conv role: reads packed bits
  int act_code = ACT_NONE;       // act role: the native activation
  // Validates attributes and tensors and fills the node (conv role: wf/wb,
  // OC/KH/KW, geom and the vectors; act role: lo/hi, slope).
  void (*parse)(const ParseCtx& ctx, Node& n) = nullptr;
  // The op on its own (float inputs -> one float output); nullptr for the
  // ops the planner emits itself (input, conv-like ops).
  void (*emit)(Plan& plan, const Node& n, const std::vector<int>& ins, int out) = nullptr;
  // Optional, for a role NONE op with one output per channel (gconv2d): the
  // op with a following affine [+ relu/hardtanh] in its epilogue. The
  // planner's fuse_tails pass uses it; it never touches the conv fusion.
  void (*emit_fused)(Plan& plan, const Node& n, const std::vector<int>& ins, int out,
                     const FusedEpilogue& ep) = nullptr;
};

// Every op this dirnet reads, in registration order (registry.cpp).
const std::vector<const OpHandler*>& op_handlers();
const OpHandler* find_op(const std::string& name);
// The op names in the order error messages list them: conv-like, activations, the rest.
std::string known_ops();

// -- helpers for the parse functions (messages follow the Python reader's)

FormatError bad(const std::string& node_name, const std::string& msg);
// A JSON value as Python prints it ('text', None, True, [1, 2]).
std::string py_repr(const nlohmann::json& v);
// The attribute, when it is an integer in [lo, hi] (else a FormatError naming the op).
int64_t get_int(const Node& n, const std::string& key, int64_t lo, int64_t hi);
std::vector<int> get_ints(const Node& n, const std::string& key, size_t count, int64_t lo, int64_t hi);
// A finite number (integer or float).
double get_float(const Node& n, const std::string& key);
bool get_bool(const Node& n, const std::string& key, const std::string& what);

// conv2d / bconv2d attributes in_channels, out_channels, kernel, stride,
// padding, dilation (ops/conv2d/conv2d_graph.cpp): fills n.OC/KH/KW and n.geom.
void parse_conv_attrs(Node& n);

// The op families' handlers (defined in core/ops/<family>/*_graph.cpp).
extern const OpHandler kConv2dOp, kBconv2dOp, kLinearOp, kBlinearOp, kInputOp, kAffineOp, kAddOp,
    kHardtanhOp, kReluOp, kPreluOp, kMaxpool2dOp, kAvgpool2dOp, kAdaptiveAvgpool2dOp, kFlattenOp,
    kShortcutAOp;
// Grouped/depthwise conv, channel concat, slice/pad/zero (ops/gconv2d, ops/concat, ops/spatial).
extern const OpHandler kGconv2dOp, kConcatOp, kSliceOp, kPadOp, kZeroOp;
// Smooth / hard activations (ops/unary) and the elementwise product (ops/mul).
extern const OpHandler kSiluOp, kSigmoidOp, kHardswishOp, kHardsigmoidOp, kMulOp;
// int8 convolution and linear layers (ops/qconv2d).
extern const OpHandler kQconv2dOp, kQlinearOp;

}  // namespace dirnet
