// Reading a .dbnn file: a safetensors file whose metadata entry "dirnet"
// holds the JSON header (layout: src/dirnet/deploy/fileformat.py, docs/deploy.md).
//
// The reader trusts nothing in the file: the safetensors header, the JSON
// header's top-level schema (the same checks as fileformat.check_header) and
// the tensors_sha256 checksum (when present) are all checked, and any failure
// is a FormatError whose message says what is wrong. Per-op attribute and
// tensor checks belong to the planner (core/planner/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dirnet {

// A file that cannot be read as a .dbnn model (the C API's DIRNET_ERROR_FORMAT).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The file cannot be opened or read (DIRNET_ERROR_IO).
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class DType { F16, F32, F64, U8, I8, I32, I64, U64, BOOL };

// One stored tensor; `data` points into the owning DbnnFile's bytes and may
// be unaligned (copy before reading as wider types).
struct TensorRef {
  DType dtype = DType::F32;
  std::string dtype_name;        // as safetensors spells it: "F32", "U64", ...
  std::vector<int64_t> shape;
  const unsigned char* data = nullptr;
  size_t bytes = 0;
  int64_t numel() const;
};

struct DbnnFile {
  std::string where;               // path, or "<memory>", for messages
  std::string header_text;         // the JSON header as stored
  nlohmann::json header;           // parsed and schema-checked
  std::map<std::string, TensorRef> tensors;
  std::shared_ptr<std::vector<unsigned char>> bytes;  // owns what TensorRef::data points at
};

DbnnFile read_dbnn_file(const std::string& path);               // IoError / FormatError
DbnnFile read_dbnn_memory(const void* data, size_t size, const std::string& where = "<memory>");

// The top-level schema check of a parsed header (fileformat.check_header),
// plus the optional "outputs": [{"name": str, "value": str}, ...] of
// multi-output graphs, accepted in place of or beside "output" (names unique;
// with "output_structure" "tuple" or "list" they are "0", "1", ...). FormatError
// "<where>: <problem>". read_dbnn_* run it already.
void check_header(const nlohmann::json& header, const std::string& where);

// The checksum stored as header["tensors_sha256"] (fileformat.tensors_sha256).
std::string tensors_sha256(const std::map<std::string, TensorRef>& tensors);

// Copy helpers: a tensor's values converted to float32 / int32 / uint64 (F16
// widened exactly); FormatError when the dtype does not convert.
std::vector<float> to_f32(const TensorRef& t, const std::string& what);
std::vector<uint64_t> to_u64(const TensorRef& t, const std::string& what);

// IEEE half (binary16 bits) to float, exactly: subnormals, +-0, inf, nan.
float half_to_float(uint16_t h);

}  // namespace dirnet
