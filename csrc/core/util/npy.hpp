// Reading and writing NumPy .npy files (format versions 1-3), enough for
// model inputs and outputs: little-endian float32 / float64 / uint8 / int32,
// C order. Used by dirnet-run and the C++ tests; not part of the C API.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace dirnet {

struct NpyArray {
  std::string dtype;             // numpy descr: "<f4", "<f8", "|u1", "<i4"
  std::vector<int64_t> shape;
  std::vector<unsigned char> data;  // C order, as stored
  int64_t numel() const;
  std::vector<float> as_f32() const;  // converts f8/u1/i4 values; std::invalid_argument otherwise
};

// std::runtime_error with the path and the problem when the file is not a
// readable .npy of a supported dtype.
NpyArray read_npy(const std::string& path);
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace dirnet
