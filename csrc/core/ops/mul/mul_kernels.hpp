// The elementwise product (file op `mul`): same-shape operands, or a
// per-channel gate s of shape (N, 1, 1, C) broadcast over the other
// operand's pixels (squeeze-and-excitation: x * sigmoid(...)).
//
// One product per value, correctly rounded, so one implementation serves
// every path including `reference` (rows.cpp, cloned per instruction set by
// GCC: see ops/shared/clones.hpp) and matches PyTorch bit for bit.
#pragma once

#include <cstdint>

#include "common.hpp"

namespace dirnet {

struct MulParams {
  FView a, b, out;    // out has a's shape; pixels dense (ps == C)
  bool broadcast = false;  // b is (N, 1, 1, C): one value per image and channel
};

// Output rows (N * H) of the product, rows [begin, end).
void mul_rows(const MulParams& p, int64_t begin, int64_t end);

// One row of W pixels x C channels: o = a * b (same shape) or o[x, c] = a[x, c] * s[c].
void mul_row(float* o, const float* a, const float* b, int64_t count);
void mul_row_gate(float* o, const float* a, const float* s, int W, int C);

}  // namespace dirnet
