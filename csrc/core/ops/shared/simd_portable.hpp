// Compare masks of the portable path (scalar loops), used by the epilogue and
// by sign packing. Included inside an ISA namespace (see basics_impl.hpp).
#pragma once

#include "ops/shared/basics_impl.hpp"

// Bit c set iff !(z[c] >= t[c]) (so NaN packs as -1), c < 32.
static inline uint32_t mask_nge_f32x32(const float* z, const float* t) {
  uint32_t r = 0;
  for (int c = 0; c < 32; ++c) r |= uint32_t(!(z[c] >= t[c])) << c;
  return r;
}

// Bit c set iff a[c] < b[c], c < 32.
static inline uint32_t mask_lt_i32x32(const int32_t* a, const int32_t* b) {
  uint32_t r = 0;
  for (int c = 0; c < 32; ++c) r |= uint32_t(a[c] < b[c]) << c;
  return r;
}
