// The unary activations from their definitions (unary_kernels.hpp), one value
// at a time with std::exp: the reference path, and the portable one.
#include <algorithm>
#include <cmath>

#include "ops/unary/unary_kernels.hpp"

namespace dirnet {

float unary_reference_value(int32_t kind, float x) {
  switch (kind) {
    case UNARY_SIGMOID: return 1.f / (1.f + std::exp(-x));
    case UNARY_SILU: return x / (1.f + std::exp(-x));
    case UNARY_HARDSIGMOID: return std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
    case UNARY_HARDSWISH: return x * std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
    default: return x;  // the op checks the kind when it is built
  }
}

void unary_reference(const UnaryParams& p, int64_t begin, int64_t end) {
  unary_for_rows(p, begin, end, [&](const float* in, float* out, int64_t count) {
    for (int64_t i = 0; i < count; ++i) out[i] = unary_reference_value(p.kind, in[i]);
  });
}

}  // namespace dirnet
