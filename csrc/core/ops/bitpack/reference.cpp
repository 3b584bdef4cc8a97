// Sign packing, reference path: one channel at a time, from the definition
// (bit = !(x >= thr), so sign(0) = +1 and NaN packs as -1).
#include "ops/bitpack/bitpack_kernels.hpp"

namespace dirnet {

void bitpack_reference(const PackParams& p, int64_t begin, int64_t end) {
  const int64_t hw = int64_t(p.in.H) * p.in.W;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / hw, y = i % hw / p.in.W, x = i % p.in.W;
    const float* src = p.in.data + n * p.in.ns + y * p.in.rs + x * p.in.ps;
    uint64_t* dst = p.out.data + n * p.out.ns + y * p.out.rs + x * p.out.ps;
    for (int w = 0; w < p.out.Cw; ++w) dst[w] = 0;
    for (int c = 0; c < p.in.C; ++c) {
      const float thr = p.thr ? p.thr[c] : 0.f;
      if (!(src[c] >= thr)) dst[c / 64] |= uint64_t(1) << (c % 64);
    }
  }
}

}  // namespace dirnet
