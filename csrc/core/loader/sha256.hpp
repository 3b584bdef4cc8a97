// SHA-256 (FIPS 180-4), for the .dbnn tensors_sha256 checksum: streaming,
// so the tensor bytes are hashed where they lie, without a copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dirnet {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& s) { update(s.data(), s.size()); }
  // The digest of everything fed so far; the object is spent afterwards
  // (feed nothing more).
  std::array<uint8_t, 32> digest();
  std::string hexdigest();  // lower-case, 64 characters

 private:
  void block(const uint8_t* p);  // one 64-byte block into state_
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buf_{};
  size_t buffered_ = 0;
  uint64_t total_ = 0;  // bytes fed
};

std::string sha256_hex(const void* data, size_t size);

}  // namespace dirnet
