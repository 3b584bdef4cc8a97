// The elementwise product's row loops (see mul_kernels.hpp).
#include "ops/mul/mul_kernels.hpp"

#include "ops/shared/clones.hpp"

namespace dirnet {

DIRNET_CLONES
void mul_row(float* __restrict o, const float* __restrict a, const float* __restrict b, int64_t count) {
  for (int64_t i = 0; i < count; ++i) o[i] = a[i] * b[i];
}

DIRNET_CLONES
void mul_row_gate(float* __restrict o, const float* __restrict a, const float* __restrict s, int W, int C) {
  for (int x = 0; x < W; ++x) {
    float* __restrict ox = o + int64_t(x) * C;
    const float* __restrict ax = a + int64_t(x) * C;
    for (int c = 0; c < C; ++c) ox[c] = ax[c] * s[c];
  }
}

void mul_rows(const MulParams& p, int64_t begin, int64_t end) {
  const int64_t count = int64_t(p.out.W) * p.out.C;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / p.out.H, y = r % p.out.H;
    float* o = p.out.data + n * p.out.ns + y * p.out.rs;
    const float* a = p.a.data + n * p.a.ns + y * p.a.rs;
    if (p.broadcast)
      mul_row_gate(o, a, p.b.data + n * p.b.ns, p.out.W, p.out.C);
    else
      mul_row(o, a, p.b.data + n * p.b.ns + y * p.b.rs, count);
  }
}

}  // namespace dirnet
