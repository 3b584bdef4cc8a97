// Smooth and piecewise-linear activations that do not fuse into conv
// epilogues (file ops silu, sigmoid, hardswish, hardsigmoid): parameters,
// the definitions every path follows, and the selector.
//
//   reference.cpp  scalar, std::exp (also the `portable` path)
//   avx2.cpp       8 lanes, exp by range reduction + polynomial (exp_impl.hpp)
//   avx512.cpp     16 lanes, the same approximation
//   neon.cpp       aarch64, 4 lanes, the same approximation (same values as avx2/avx512)
//
// Definitions (PyTorch's CPU formulas, operation for operation):
//   sigmoid(x)     = 1 / (1 + exp(-x))
//   silu(x)        = x / (1 + exp(-x))
//   hardsigmoid(x) = min(max(x + 3, 0), 6) / 6
//   hardswish(x)   = x * min(max(x + 3, 0), 6) / 6      ((x * clamp) / 6)
// hardswish and hardsigmoid use only correctly rounded operations, so every
// path gives PyTorch's values bit for bit. sigmoid and silu differ from the
// reference only through exp: the vector exp has a relative error of at most
// about 2 ulp over the whole float range (subnormal results included), so
// sigmoid and silu stay within kUnaryRelTol of the reference (tested on
// random data and on the edges in csrc/tests/test_unary_mul.cpp). NaN
// propagates on every path.
#pragma once

#include <cstdint>
#include <string>

#include "common.hpp"
#include "ops/op_kernel.hpp"

namespace dirnet {

enum UnaryKind : int32_t { UNARY_SILU = 1, UNARY_SIGMOID = 2, UNARY_HARDSWISH = 3, UNARY_HARDSIGMOID = 4 };

// Largest relative difference of the vector paths' sigmoid/silu from the
// reference (about 4 ulp: exp's 2 ulp plus the add's and the division's roundings).
constexpr float kUnaryRelTol = 1e-6f;

struct UnaryParams {
  FView in, out;  // same shape; pixels dense (ps == C)
  int32_t kind = UNARY_SILU;
};

using UnaryKernel = OpKernel<UnaryParams>;

const UnaryKernel& unary_kernel(const std::string& path);

// Work items: output rows (N * H), each W * C consecutive floats.
inline int64_t unary_rows(const UnaryParams& p) { return int64_t(p.out.N) * p.out.H; }

// Calls f(in_row, out_row, count) for rows [begin, end).
template <class F>
inline void unary_for_rows(const UnaryParams& p, int64_t begin, int64_t end, F&& f) {
  const int64_t count = int64_t(p.out.W) * p.out.C;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / p.out.H, y = r % p.out.H;
    f(p.in.data + n * p.in.ns + y * p.in.rs, p.out.data + n * p.out.ns + y * p.out.rs, count);
  }
}

// The scalar definition of one value (the reference path).
float unary_reference_value(int32_t kind, float x);

void unary_reference(const UnaryParams& p, int64_t begin, int64_t end);
#if defined(DIRNET_X86)
void unary_avx2(const UnaryParams& p, int64_t begin, int64_t end);
void unary_avx512(const UnaryParams& p, int64_t begin, int64_t end);
#endif
#if defined(DIRNET_ARM64)
void unary_neon(const UnaryParams& p, int64_t begin, int64_t end);
#endif

}  // namespace dirnet
