#include "ops/concat/concat_op.hpp"

#include <cstring>
#include <stdexcept>

namespace dirnet {

Shape4 ConcatOp::output_shape(const std::vector<Shape4>& in) const {
  if (in.empty()) throw std::invalid_argument("concat has no input");
  Shape4 o = in[0];
  o.C = 0;
  int64_t c = 0;
  for (const Shape4& s : in) {
    if (s.N != o.N || s.H != o.H || s.W != o.W)
      throw std::invalid_argument("inputs of the concatenation differ in batch or spatial size");
    c += s.C;
  }
  if (c > (int64_t(1) << 26)) throw std::invalid_argument("concatenated channel count too large");
  o.C = int(c);
  return o;
}

// One work item per output row: each pixel's channels are the inputs' pixel
// runs back to back (NHWC keeps each run contiguous).
void ConcatOp::run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) {
  parallel_for(pool, int64_t(out.N) * out.H, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / out.H, y = r % out.H;
      for (int64_t x = 0; x < out.W; ++x) {
        float* dst = out.data + n * out.ns + y * out.rs + x * out.ps;
        for (const FView& v : in) {
          std::memcpy(dst, v.data + n * v.ns + y * v.rs + x * v.ps, size_t(v.C) * sizeof(float));
          dst += v.C;
        }
      }
    }
  });
}

}  // namespace dirnet
