#include "util/npy.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

namespace dirnet {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& msg) {
  throw std::runtime_error(path + ": " + msg);
}

// Value of 'key' in the header dict literal, e.g. {'descr': '<f4', ...}.
std::string field(const std::string& h, const std::string& key, const std::string& path) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) bad(path, "npy header has no '" + key + "'");
  size_t p = h.find(':', k);
  if (p == std::string::npos) bad(path, "malformed npy header");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) bad(path, "malformed npy header");
  size_t e = p;
  if (h[p] == '\'') {
    e = h.find('\'', p + 1);
    if (e == std::string::npos) bad(path, "malformed npy header");
    return h.substr(p + 1, e - p - 1);
  }
  if (h[p] == '(') {
    e = h.find(')', p);
    if (e == std::string::npos) bad(path, "malformed npy header");
    return h.substr(p, e - p + 1);
  }
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  return h.substr(p, e - p);
}

std::vector<int64_t> parse_shape(const std::string& s, const std::string& path) {
  std::vector<int64_t> shape;
  std::string body = s.substr(1, s.size() - 2);
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(' ');
    if (a == std::string::npos) continue;
    try {
      const long long v = std::stoll(item.substr(a));
      if (v < 0 || v > (int64_t(1) << 40)) bad(path, "bad dimension in npy shape");
      shape.push_back(v);
    } catch (const std::logic_error&) {
      bad(path, "bad npy shape " + s);
    }
  }
  return shape;
}

size_t itemsize(const std::string& d) {
  if (d == "<f4" || d == "<i4") return 4;
  if (d == "<f8") return 8;
  if (d == "|u1" || d == "<u1") return 1;
  return 0;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::as_f32() const {
  const size_t n = size_t(numel());
  std::vector<float> out(n);
  const unsigned char* p = data.data();
  for (size_t i = 0; i < n; ++i) {
    if (dtype == "<f4") {
      std::memcpy(&out[i], p + 4 * i, 4);
    } else if (dtype == "<f8") {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = float(v);
    } else if (dtype == "<i4") {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = float(v);
    } else if (dtype == "|u1" || dtype == "<u1") {
      out[i] = float(p[i]);
    } else {
      throw std::invalid_argument("npy dtype " + dtype + " cannot be read as float32");
    }
  }
  return out;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) bad(path, "cannot open");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) bad(path, "not a .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) bad(path, "truncated npy header");
    hlen = uint32_t(b[0]) | uint32_t(b[1]) << 8;
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) bad(path, "truncated npy header");
    hlen = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
  } else {
    bad(path, "unsupported npy version " + std::to_string(major));
  }
  if (hlen > (1u << 20)) bad(path, "npy header too large");
  std::string h(hlen, '\0');
  if (!f.read(&h[0], hlen)) bad(path, "truncated npy header");
  NpyArray a;
  a.dtype = field(h, "descr", path);
  if (field(h, "fortran_order", path).find("False") == std::string::npos)
    bad(path, "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  a.shape = parse_shape(field(h, "shape", path), path);
  const size_t isz = itemsize(a.dtype);
  if (!isz) bad(path, "unsupported dtype " + a.dtype + " (use float32)");
  const int64_t n = a.numel();
  if (n > (int64_t(1) << 34) / int64_t(isz)) bad(path, "array too large");
  a.data.resize(size_t(n) * isz);
  if (n && !f.read(reinterpret_cast<char*>(a.data.data()), std::streamsize(a.data.size())))
    bad(path, "truncated npy data");
  return a;
}

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    n *= d;
  }
  if (shape.size() > 1) dims.erase(dims.size() - 2);
  else if (shape.size() == 1) dims.erase(dims.size() - 1);
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  if (!f) bad(path, "cannot write");
  f.write("\x93NUMPY\x01\x00", 8);
  const unsigned char len[2] = {static_cast<unsigned char>(h.size() & 0xff),
                                static_cast<unsigned char>(h.size() >> 8)};
  f.write(reinterpret_cast<const char*>(len), 2);
  f.write(h.data(), std::streamsize(h.size()));
  f.write(reinterpret_cast<const char*>(data), std::streamsize(sizeof(float) * size_t(n)));
  if (!f) bad(path, "write failed");
}

}  // namespace dirnet
