// The .dbnn reader (see dbnn.hpp): safetensors container, dirnet JSON header,
// tensors_sha256. Nothing read from the file is trusted: every length, offset
// and shape is checked against the bytes actually present before it is used,
// and every failure is a FormatError "<file>: <problem>" (IoError for files
// that cannot be read at all).
#include "loader/dbnn.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <set>
#include <utility>

#include "loader/sha256.hpp"

namespace dirnet {

using nlohmann::json;

namespace {

// safetensors' own limit on its JSON header (it refuses larger ones too).
constexpr uint64_t kMaxSafetensorsHeader = 100ull * 1024 * 1024;
constexpr size_t kMaxHeaderChars = 16 * 1024 * 1024;  // fileformat.MAX_HEADER_CHARS
constexpr size_t kMaxOps = 100000;                    // fileformat.MAX_OPS
constexpr int kFormatVersion = 1;                      // fileformat.FORMAT_VERSION
// Deep nesting would make later recursive walks of the json (copy, dump)
// overflow the stack; Python's json.loads stops near 1000 levels.
constexpr int kMaxJsonDepth = 512;
constexpr size_t kMaxRank = 64;  // numpy's limit: Python could not read more either

// The code point of the UTF-8 sequence at s[i] and its length; false for
// an invalid sequence (bad lead or continuation byte, overlong, surrogate,
// beyond U+10FFFF, cut off).
bool decode_utf8(const std::string& s, size_t i, uint32_t& cp, size_t& len) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  uint32_t min_cp = 0;  // below it the sequence is overlong
  if (c < 0x80) {
    cp = c, len = 1;
    return true;
  } else if (c >= 0xF0 && c < 0xF5) {
    len = 4, cp = c & 0x07, min_cp = 0x10000;
  } else if (c >= 0xE0 && c < 0xF0) {
    len = 3, cp = c & 0x0F, min_cp = 0x800;
  } else if (c >= 0xC2 && c < 0xE0) {
    len = 2, cp = c & 0x1F, min_cp = 0x80;
  } else {
    return false;
  }
  if (i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3F);
  }
  return cp >= min_cp && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

// A message safe to print on one line and to hand to Python as str: control
// characters and bytes that are not valid UTF-8 (the JSON parser quotes what
// it last read, raw) become \xNN.
std::string one_line(const std::string& msg) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < msg.size();) {
    const unsigned char c = static_cast<unsigned char>(msg[i]);
    uint32_t cp = 0;
    size_t len = 1;
    if (c >= 0x20 && c != 0x7F && decode_utf8(msg, i, cp, len)) {
      out.append(msg, i, len);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    i += len;
  }
  return out;
}

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw FormatError(one_line(where + ": " + msg));
}

// The safetensors layer's failures, worded as fileformat.read words them.
[[noreturn]] void fail_container(const std::string& where, const std::string& msg) {
  throw FormatError(one_line(where + " is not a readable .dbnn file (truncated or corrupted?): " + msg));
}

// A value from the file, short and on one line, for a message.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string shown(const std::string& name) { return shown(json(name)); }

struct DtypeInfo {
  const char* name;
  DType dtype;
  size_t itemsize;
};

constexpr DtypeInfo kDtypes[] = {
    {"F16", DType::F16, 2}, {"F32", DType::F32, 4}, {"F64", DType::F64, 8},
    {"U8", DType::U8, 1},   {"I8", DType::I8, 1},   {"I32", DType::I32, 4},
    {"I64", DType::I64, 8}, {"U64", DType::U64, 8}, {"BOOL", DType::BOOL, 1}};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

size_t itemsize(DType t) {
  for (const auto& d : kDtypes)
    if (d.dtype == t) return d.itemsize;
  return 0;
}

// Nesting depth of a JSON text, strings skipped: checked before parsing so
// that no hostile header can build a json too deep to walk.
int json_depth(const char* p, size_t n) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// Parses JSON text; false (and `error` set) when it is not valid or too deep.
bool parse_json(const char* p, size_t n, json& out, std::string& error) {
  if (json_depth(p, n) > kMaxJsonDepth) {
    error = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  try {
    out = json::parse(p, p + n);
    return true;
  } catch (const json::exception& e) {
    // Its "last read" excerpt can be a whole (megabytes long) string token.
    error = e.what();
    if (error.size() > 200) error = error.substr(0, 197) + "...";
    return false;
  }
}

// An integer JSON value (not a bool, not a float) as int64, huge unsigned
// values clamped to INT64_MAX (they only ever fail a range check).
bool as_int(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    out = u > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max() : int64_t(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  return false;
}

// `key` of an object, or null when absent (Python's dict.get).
const json& get(const json& obj, const char* key) {
  static const json kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// ---------------------------------------------------------------- safetensors

struct Entry {
  std::string name;
  uint64_t begin = 0, end = 0;
};

std::vector<int64_t> parse_shape(const json& shape, const std::string& where, const std::string& name) {
  if (!shape.is_array() || shape.size() > kMaxRank)
    fail_container(where, "tensor " + shown(name) + ": shape must be a list of at most " +
                              std::to_string(kMaxRank) + " non-negative integers");
  std::vector<int64_t> dims;
  for (const auto& d : shape) {
    int64_t v = 0;
    if (!as_int(d, v) || v < 0 || v == std::numeric_limits<int64_t>::max())
      fail_container(where, "tensor " + shown(name) + ": bad shape " + shown(shape));
    dims.push_back(v);
  }
  // The product of the non-zero dims must fit int64 even for an empty tensor,
  // so that no later stride or partial product can overflow.
  uint64_t prod = 1;
  for (int64_t d : dims) {
    if (d == 0) continue;
    if (prod > uint64_t(std::numeric_limits<int64_t>::max()) / uint64_t(d))
      fail_container(where, "tensor " + shown(name) + ": shape " + shown(shape) + " is too large");
    prod *= uint64_t(d);
  }
  return dims;
}

TensorRef parse_tensor(const std::string& name, const json& info, const unsigned char* data,
                       uint64_t data_size, const std::string& where, Entry& entry) {
  if (!info.is_object()) fail_container(where, "tensor " + shown(name) + " is not described by an object");
  const json& dtype = get(info, "dtype");
  const json& offsets = get(info, "data_offsets");
  if (!dtype.is_string()) fail_container(where, "tensor " + shown(name) + " has no dtype");
  const DtypeInfo* dt = find_dtype(dtype.get<std::string>());
  if (!dt) fail_container(where, "tensor " + shown(name) + " has unsupported dtype " + shown(dtype));
  TensorRef t;
  t.dtype = dt->dtype;
  t.dtype_name = dt->name;
  t.shape = parse_shape(get(info, "shape"), where, name);
  int64_t b = -1, e = -1;
  if (!offsets.is_array() || offsets.size() != 2 || !as_int(offsets[0], b) || !as_int(offsets[1], e) || b < 0 ||
      e < b)
    fail_container(where, "tensor " + shown(name) + ": data_offsets must be [begin, end] with 0 <= begin <= end");
  if (uint64_t(e) > data_size)
    fail_container(where, "tensor " + shown(name) + ": data_offsets " + shown(offsets) + " run past the " +
                              std::to_string(data_size) + " bytes of tensor data");
  // Compared as numel vs span / itemsize first, so that numel * itemsize is
  // only computed where it cannot overflow.
  const uint64_t numel = uint64_t(t.numel());
  const uint64_t span = uint64_t(e - b);
  const bool too_many = numel > span / dt->itemsize;
  if (too_many || numel * dt->itemsize != span) {
    const std::string need = too_many ? "more than " + std::to_string(span) : std::to_string(numel * dt->itemsize);
    fail_container(where, "tensor " + shown(name) + ": shape " + shown(get(info, "shape")) + " of " + dt->name +
                              " needs " + need + " bytes but data_offsets give " + std::to_string(span));
  }
  t.data = data + b;
  t.bytes = size_t(span);
  entry = {name, uint64_t(b), uint64_t(e)};
  return t;
}

// safetensors requires the tensors to tile the data exactly: no overlap, no
// hole (so that every byte is some tensor's and covered by the checksum).
void check_tiling(std::vector<Entry> entries, uint64_t data_size, const std::string& where) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t at = 0;
  for (const auto& e : entries) {
    if (e.begin < at)
      fail_container(where, "tensor " + shown(e.name) + " overlaps the tensor before it (data_offsets [" +
                                std::to_string(e.begin) + ", " + std::to_string(e.end) + "])");
    if (e.begin > at)
      fail_container(where, "bytes " + std::to_string(at) + " to " + std::to_string(e.begin) +
                                " of the tensor data belong to no tensor");
    at = e.end;
  }
  if (at != data_size)
    fail_container(where, "the tensors end at byte " + std::to_string(at) + " of " + std::to_string(data_size) +
                              " bytes of tensor data");
}

// The "dirnet" entry of __metadata__ (a string of at most kMaxHeaderChars
// code points, as Python counts len()).
std::string dirnet_metadata(const json& meta, const std::string& where) {
  if (!meta.is_null() && !meta.is_object()) fail_container(where, "__metadata__ must be an object");
  if (meta.is_object()) {
    for (auto it = meta.begin(); it != meta.end(); ++it)
      if (!it.value().is_string())
        fail_container(where, "__metadata__ entry " + shown(it.key()) + " is not a string");
  }
  const json& raw = meta.is_object() ? get(meta, "dirnet") : meta;
  if (raw.is_null())
    throw FormatError(one_line(where + " is a safetensors file without a dirnet header (not a .dbnn file)"));
  const std::string& text = raw.get_ref<const std::string&>();
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;  // UTF-8 lead bytes
  if (chars > kMaxHeaderChars) fail(where, "dirnet header is too large or not text");
  return text;
}

void parse_container(DbnnFile& f) {
  const std::string& where = f.where;
  const unsigned char* p = f.bytes->data();
  const uint64_t size = f.bytes->size();
  if (size < 8) fail_container(where, "only " + std::to_string(size) + " bytes, less than a safetensors header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];
  if (n > kMaxSafetensorsHeader)
    fail_container(where, "header length " + std::to_string(n) + " exceeds the " +
                              std::to_string(kMaxSafetensorsHeader) + "-byte limit");
  if (n > size - 8)
    fail_container(where, "header length " + std::to_string(n) + " runs past the end of the file (" +
                              std::to_string(size) + " bytes)");
  json top;
  std::string error;
  if (!parse_json(reinterpret_cast<const char*>(p + 8), size_t(n), top, error))
    fail_container(where, "safetensors header is not valid JSON: " + error);
  if (!top.is_object()) fail_container(where, "safetensors header is not a JSON object");
  const unsigned char* data = p + 8 + n;
  const uint64_t data_size = size - 8 - n;
  std::vector<Entry> entries;
  entries.reserve(top.size());
  for (auto it = top.begin(); it != top.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    Entry e;
    f.tensors.emplace(it.key(), parse_tensor(it.key(), it.value(), data, data_size, where, e));
    entries.push_back(std::move(e));
  }
  check_tiling(std::move(entries), data_size, where);
  f.header_text = dirnet_metadata(get(top, "__metadata__"), where);
}

// ------------------------------------------------------------ dirnet header

void need(bool cond, const std::string& where, const std::string& msg) {
  if (!cond) fail(where, msg);
}

bool is_str_list(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& s) { return s.is_string(); });
}

void check_version(const json& h, const std::string& where) {
  int64_t version = 0;
  need(as_int(get(h, "version"), version), where, "version must be an integer");
  need(version <= kFormatVersion, where,
       "file format version " + get(h, "version").dump() + " is newer than this dirnet supports (" +
           std::to_string(kFormatVersion) + "); upgrade dirnet");
  need(version >= 1, where, "bad format version " + std::to_string(version));
}

void check_input(const json& h, const std::string& where) {
  const json& inp = get(h, "input");
  need(inp.is_object(), where, "missing 'input' description");
  int64_t ch = 0;
  need(as_int(get(inp, "channels"), ch) && ch >= 1 && ch <= 65536, where,
       "input channels must be an integer in [1, 65536]");
  const json& hint = get(inp, "size_hint");
  bool ok = hint.is_null() || (hint.is_array() && hint.size() == 3);
  if (ok && hint.is_array()) {
    for (const auto& v : hint) {
      int64_t x = 0;
      ok = ok && as_int(v, x) && x > 0;
    }
  }
  need(ok, where, "input size_hint must be [C, H, W] or null");
}

void check_op(const json& op, size_t i, const std::string& where) {
  const std::string at = "graph op " + std::to_string(i);
  need(op.is_object(), where, at + " is not an object");
  need(get(op, "op").is_string(), where, at + " has no 'op' type");
  need(get(op, "name").is_string(), where, at + " has no name");
  const std::string named = at + " (" + get(op, "name").get<std::string>() + ")";
  need(is_str_list(get(op, "inputs")), where, named + ": 'inputs' must be a list of value names");
  need(get(op, "output").is_string(), where, named + ": no output name");
  // Absent is fine, present must be an object (Python: op.get("attrs", {})).
  need(!op.contains("attrs") || get(op, "attrs").is_object(), where, at + ": 'attrs' must be an object");
  need(!op.contains("tensors") || get(op, "tensors").is_object(), where, at + ": 'tensors' must be an object");
}

// The optional "output_structure" of a multi-output file: what the exported
// model returned ("tuple", "list" or "dict"); a tuple's or list's outputs are
// named "0", "1", ... in order, so a reader can rebuild it.
void check_output_structure(const json& h, const json& outs, const std::string& where) {
  const json& s = get(h, "output_structure");
  if (s.is_null()) return;
  need(s.is_string() && (s == "tuple" || s == "list" || s == "dict"), where,
       "output_structure must be 'tuple', 'list' or 'dict'");
  if (s == "dict") return;
  for (size_t i = 0; i < outs.size(); ++i)
    need(outs[i]["name"] == std::to_string(i), where,
         "the outputs of a " + s.get<std::string>() + " must be named '0', '1', ... in order");
}

// "output" (one value) and/or "outputs" ([{name, value}, ...], multi-output
// graphs): at least one of them, each well-formed where present.
void check_outputs(const json& h, const std::string& where) {
  const json& outs = get(h, "outputs");
  if (outs.is_null()) {
    need(get(h, "output").is_string(), where, "missing graph output");
    return;
  }
  bool ok = outs.is_array() && !outs.empty() && outs.size() <= kMaxOps;
  for (size_t i = 0; ok && i < outs.size(); ++i)
    ok = outs[i].is_object() && get(outs[i], "name").is_string() && get(outs[i], "value").is_string();
  need(ok, where, "'outputs' must be a non-empty list of {\"name\": str, \"value\": str} objects");
  need(!h.contains("output") || get(h, "output").is_string(), where, "graph output must be a value name");
  std::set<std::string> names;
  for (const json& o : outs) need(names.insert(o["name"].get<std::string>()).second, where, "output names must be unique");
  check_output_structure(h, outs, where);
}

void verify_checksum(const DbnnFile& f) {
  const json& want = get(f.header, "tensors_sha256");
  if (want.is_null()) return;  // files written before the checksum existed
  need(want.is_string() && want.get_ref<const std::string&>().size() == 64, f.where,
       "tensors_sha256 must be 64 hex digits");
  std::string lower = want.get<std::string>();
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  need(tensors_sha256(f.tensors) == lower, f.where, "tensor data checksum mismatch: the file is corrupted");
}

// Appends `s` as Python's json.dumps (ensure_ascii=True) writes a string:
// quotes, backslash and \b \f \n \r \t short, every other code point outside
// ' '..'~' as \uXXXX (lower-case hex; beyond the BMP as a surrogate pair).
void append_py_json_string(std::string& out, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  auto u4 = [&](uint32_t v) {
    out += "\\u";
    for (int sh = 12; sh >= 0; sh -= 4) out += kHex[(v >> sh) & 15];
  };
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    // Unreachable from a file (its names were validated as UTF-8 by the JSON
    // parser); a stray byte from elsewhere is hashed as its Latin-1 code point.
    if (!decode_utf8(s, i, cp, len)) {
      len = 1;
      cp = c;
    }
    i += len;
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (cp >= 0x20 && cp <= 0x7E) {
          out += char(cp);
        } else if (cp < 0x10000) {
          u4(cp);
        } else {
          const uint32_t v = cp - 0x10000;
          u4(0xD800 | (v >> 10));
          u4(0xDC00 | (v & 0x3FF));
        }
    }
  }
  out += '"';
}

DbnnFile parse_buffer(std::shared_ptr<std::vector<unsigned char>> bytes, const std::string& where) {
  DbnnFile f;
  f.where = where;
  f.bytes = std::move(bytes);
  parse_container(f);
  std::string error;
  if (!parse_json(f.header_text.data(), f.header_text.size(), f.header, error))
    fail(where, "dirnet header is not valid JSON: " + error);
  check_header(f.header, where);
  verify_checksum(f);
  return f;
}

}  // namespace

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void check_header(const json& h, const std::string& where) {
  need(h.is_object(), where, "header must be a JSON object");
  need(get(h, "format") == "dirnet.dbnn", where, "not a dirnet.dbnn file (format=" + shown(get(h, "format")) + ")");
  check_version(h, where);
  need(get(h, "precision") == "fp16" || get(h, "precision") == "fp32" || get(h, "precision") == "int8", where,
       "precision must be 'fp16', 'fp32' or 'int8'");
  check_input(h, where);
  const json& names = get(h, "class_names");
  need(names.is_null() || is_str_list(names), where, "class_names must be a list of strings or null");
  const json& graph = get(h, "graph");
  need(graph.is_array() && !graph.empty() && graph.size() <= kMaxOps, where, "graph must be a non-empty list of ops");
  for (size_t i = 0; i < graph.size(); ++i) check_op(graph[i], i, where);
  check_outputs(h, where);
}

std::string tensors_sha256(const std::map<std::string, TensorRef>& tensors) {
  // std::map orders by bytes; for UTF-8 that is Python's code-point order.
  Sha256 h;
  std::string record;
  for (const auto& [name, t] : tensors) {
    record = "[";
    append_py_json_string(record, name);
    record += ",\"" + t.dtype_name + "\",[";
    for (size_t i = 0; i < t.shape.size(); ++i) record += (i ? "," : "") + std::to_string(t.shape[i]);
    record += "]]";
    h.update(record);
    if (t.bytes) h.update(t.data, t.bytes);
  }
  return h.hexdigest();
}

DbnnFile read_dbnn_memory(const void* data, size_t size, const std::string& where) {
  if (data == nullptr && size > 0) throw FormatError(where + ": no data (null pointer)");
  std::shared_ptr<std::vector<unsigned char>> bytes;
  try {
    const auto* p = static_cast<const unsigned char*>(data);
    bytes = std::make_shared<std::vector<unsigned char>>(p, p + size);
  } catch (const std::bad_alloc&) {
    throw IoError(where + ": cannot allocate " + std::to_string(size) + " bytes for the model");
  }
  return parse_buffer(std::move(bytes), where);
}

DbnnFile read_dbnn_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw IoError("no such .dbnn file: " + path);
  if (ec) throw IoError("cannot read " + path + ": " + ec.message());
  if (!fs::is_regular_file(st)) throw FormatError(path + " is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path + ": " + std::strerror(errno));
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw IoError("cannot read " + path + ": " + ec.message());
  std::shared_ptr<std::vector<unsigned char>> bytes;
  try {
    bytes = std::make_shared<std::vector<unsigned char>>(size_t(size));
  } catch (const std::bad_alloc&) {
    throw IoError("cannot read " + path + ": " + std::to_string(size) + " bytes do not fit in memory");
  } catch (const std::length_error&) {
    throw IoError("cannot read " + path + ": " + std::to_string(size) + " bytes do not fit in memory");
  }
  in.read(reinterpret_cast<char*>(bytes->data()), std::streamsize(size));
  // A short read, or more bytes than stat said: the file changed under us.
  if (uintmax_t(in.gcount()) != size || in.peek() != std::char_traits<char>::eof())
    throw IoError("cannot read " + path + ": the file changed size while it was read");
  return parse_buffer(std::move(bytes), path);
}

std::vector<float> to_f32(const TensorRef& t, const std::string& what) {
  if (t.dtype != DType::F16 && t.dtype != DType::F32)
    throw FormatError(what + ": expected F16 or F32 values, got " + t.dtype_name);
  const size_t n = size_t(t.numel());
  if (t.bytes != n * itemsize(t.dtype) || (n > 0 && t.data == nullptr))
    throw FormatError(what + ": tensor holds " + std::to_string(t.bytes) + " bytes, not its shape's");
  std::vector<float> out(n);
  if (t.dtype == DType::F32) {
    if (n) std::memcpy(out.data(), t.data, n * 4);
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h = uint16_t(t.data[2 * i] | (t.data[2 * i + 1] << 8));  // little-endian
    out[i] = half_to_float(h);
  }
  return out;
}

std::vector<uint64_t> to_u64(const TensorRef& t, const std::string& what) {
  if (t.dtype != DType::U64) throw FormatError(what + ": expected U64 values, got " + t.dtype_name);
  const size_t n = size_t(t.numel());
  if (t.bytes != n * 8 || (n > 0 && t.data == nullptr))
    throw FormatError(what + ": tensor holds " + std::to_string(t.bytes) + " bytes, not its shape's");
  std::vector<uint64_t> out(n);
  if (n) std::memcpy(out.data(), t.data, n * 8);  // stored little-endian, as are the CPUs we build for
  return out;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31;
  const uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf, or nan keeping its payload
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal half, mant * 2^-24: normalise into a (normal) float.
    int e = -14;
    while (!(mant & 0x400)) {
      mant <<= 1;
      --e;
    }
    bits = sign | (uint32_t(e + 127) << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace dirnet
