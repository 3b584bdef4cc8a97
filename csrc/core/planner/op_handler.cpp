// The helpers the op handlers' parse functions share, and the op list.
#include "planner/op_handler.hpp"

#include <cmath>
#include <sstream>

namespace dirnet {

// One explicit list (not self-registration: a static library would drop the
// object files that are reached only through static initializers). The order
// is the Python registry's, which fixes the order of known_ops().
const std::vector<const OpHandler*>& op_handlers() {
  static const std::vector<const OpHandler*> list = {
      &kConv2dOp,  &kBconv2dOp, &kLinearOp,     &kBlinearOp,   &kInputOp,
      &kAffineOp,  &kAddOp,     &kHardtanhOp,   &kReluOp,      &kPreluOp,
      &kMaxpool2dOp, &kAvgpool2dOp, &kAdaptiveAvgpool2dOp, &kFlattenOp, &kShortcutAOp,
      &kSiluOp, &kSigmoidOp, &kHardswishOp, &kHardsigmoidOp, &kMulOp,
      &kGconv2dOp, &kConcatOp, &kSliceOp, &kPadOp, &kZeroOp, &kQconv2dOp, &kQlinearOp};
  return list;
}

const OpHandler* find_op(const std::string& name) {
  for (const OpHandler* h : op_handlers())
    if (name == h->name) return h;
  return nullptr;
}

std::string known_ops() {
  std::string out;
  for (Role role : {Role::CONV, Role::ACT, Role::NONE})
    for (const OpHandler* h : op_handlers())
      if (h->role == role) out += (out.empty() ? "" : ", ") + std::string(h->name);
  return out;
}

FormatError bad(const std::string& node_name, const std::string& msg) {
  return FormatError("op " + py_repr(node_name) + ": " + msg);
}

std::string py_repr(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "None";
    case nlohmann::json::value_t::boolean: return v.get<bool>() ? "True" : "False";
    case nlohmann::json::value_t::string: {
      std::string s = v.get<std::string>();
      if (s.size() > 200) s = s.substr(0, 200) + "...";
      std::string out = "'";
      for (char c : s) {
        if (c == '\'' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\x";
          const char* hex = "0123456789abcdef";
          out += hex[(c >> 4) & 15];
          out += hex[c & 15];
          continue;
        }
        out += c;
      }
      return out + "'";
    }
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      size_t i = 0;
      for (const auto& e : v) {
        if (i) out += ", ";
        if (++i > 8) { out += "..."; break; }
        out += py_repr(e);
      }
      return out + "]";
    }
    case nlohmann::json::value_t::object: {
      std::string out = "{";
      size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (i) out += ", ";
        if (++i > 8) { out += "..."; break; }
        out += py_repr(it.key()) + ": " + py_repr(it.value());
      }
      return out + "}";
    }
    case nlohmann::json::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e16) {
        std::ostringstream s;
        s << static_cast<long long>(d) << ".0";
        return s.str();
      }
      return v.dump();
    }
    default: return v.dump();
  }
}

namespace {

const nlohmann::json* attr(const Node& n, const std::string& key) {
  if (!n.attrs || !n.attrs->is_object()) return nullptr;
  auto it = n.attrs->find(key);
  return it == n.attrs->end() ? nullptr : &*it;
}

std::string repr_or_none(const nlohmann::json* v) { return v ? py_repr(*v) : "None"; }

bool int_in(const nlohmann::json& v, int64_t lo, int64_t hi, int64_t& out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(INT64_MAX)) return false;
    out = int64_t(u);
  } else if (v.is_number_integer()) {
    out = v.get<int64_t>();
  } else {
    return false;  // floats, bools, strings, ...
  }
  return lo <= out && out <= hi;
}

}  // namespace

int64_t get_int(const Node& n, const std::string& key, int64_t lo, int64_t hi) {
  const nlohmann::json* v = attr(n, key);
  int64_t out = 0;
  if (!v || !int_in(*v, lo, hi, out))
    throw bad(n.name, "attribute " + py_repr(key) + " must be an integer in [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "], got " + repr_or_none(v));
  return out;
}

std::vector<int> get_ints(const Node& n, const std::string& key, size_t count, int64_t lo, int64_t hi) {
  const nlohmann::json* v = attr(n, key);
  std::vector<int> out;
  bool ok = v && v->is_array() && v->size() == count;
  if (ok)
    for (const auto& e : *v) {
      int64_t x = 0;
      if (!int_in(e, lo, hi, x)) { ok = false; break; }
      out.push_back(int(x));
    }
  if (!ok)
    throw bad(n.name, "attribute " + py_repr(key) + " must be " + std::to_string(count) + " integers in [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "], got " + repr_or_none(v));
  return out;
}

double get_float(const Node& n, const std::string& key) {
  const nlohmann::json* v = attr(n, key);
  if (!v || !v->is_number() || !std::isfinite(v->get<double>()))
    throw bad(n.name, "attribute " + py_repr(key) + " must be a finite number, got " + repr_or_none(v));
  return v->get<double>();
}

bool get_bool(const Node& n, const std::string& key, const std::string& what) {
  const nlohmann::json* v = attr(n, key);
  if (!v || !v->is_boolean()) throw bad(n.name, what);
  return v->get<bool>();
}

// ---------------------------------------------------------------- tensors

namespace {

const char* numpy_name(DType d) {
  switch (d) {
    case DType::F16: return "float16";
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::U8: return "uint8";
    case DType::I8: return "int8";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
    case DType::U64: return "uint64";
    case DType::BOOL: return "bool";
  }
  return "?";
}

std::string shape_repr(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

const nlohmann::json* tensor_ref(const Node& n, const std::string& key) {
  if (!n.raw || !n.raw->is_object()) return nullptr;
  auto t = n.raw->find("tensors");
  if (t == n.raw->end() || !t->is_object()) return nullptr;
  auto r = t->find(key);
  if (r == t->end() || r->is_null()) return nullptr;  // None: absent, as in the Python reader
  return &*r;
}

}  // namespace

const TensorRef* ParseCtx::lookup(const Node& n, const std::string& key) const {
  const nlohmann::json* ref = tensor_ref(n, key);
  if (!ref || !ref->is_string()) return nullptr;
  auto it = file.tensors.find(ref->get<std::string>());
  return it == file.tensors.end() ? nullptr : &it->second;
}

const TensorRef* ParseCtx::get(const Node& n, const std::string& key, const std::vector<DType>& dtypes,
                               const std::vector<int64_t>& shape, bool required) const {
  const nlohmann::json* ref = tensor_ref(n, key);
  if (!ref) {
    if (required) throw bad(n.name, "missing tensor " + py_repr(key));
    return nullptr;
  }
  const TensorRef* t = nullptr;
  if (ref->is_string()) {
    auto it = file.tensors.find(ref->get<std::string>());
    if (it != file.tensors.end()) t = &it->second;
  }
  if (!t) throw bad(n.name, "tensor " + py_repr(key) + " refers to " + py_repr(*ref) + ", which is not in the file");
  bool dtype_ok = false;
  std::string want;
  for (DType d : dtypes) {
    dtype_ok = dtype_ok || t->dtype == d;
    want += (want.empty() ? "" : " or ") + std::string(numpy_name(d));
  }
  if (!dtype_ok)
    throw bad(n.name, "tensor " + py_repr(*ref) + " has dtype " + numpy_name(t->dtype) + ", expected " + want);
  if (t->shape != shape)
    throw bad(n.name, "tensor " + py_repr(*ref) + " has shape " + shape_repr(t->shape) + ", expected " +
                          shape_repr(shape));
  return t;
}

bool ParseCtx::vec(Node& n, const std::string& key, int64_t n_values, bool required) const {
  const TensorRef* t = get(n, key, {DType::F32}, {n_values}, required);
  if (!t) return false;
  n.vec[key] = to_f32(*t, n.name + "." + key);
  return true;
}

}  // namespace dirnet
