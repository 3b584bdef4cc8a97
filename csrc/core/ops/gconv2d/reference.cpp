// gconv2d from the definition: one output value at a time, taps in order.
#include "ops/gconv2d/gconv2d_kernels.hpp"

namespace dirnet {

void gconv2d_reference(const GConvParams& p, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / p.out.H, y = r % p.out.H;
    for (int64_t x = 0; x < p.out.W; ++x) {
      const float* win = gconv2d_origin(p, n, y, x);
      float* dst = p.out.data + n * p.out.ns + y * p.out.rs + x * p.out.ps;
      for (int64_t o = 0; o < p.OC; ++o) {
        const int64_t c0 = (o / p.opg) * p.icg;  // first input channel of o's group
        float acc = 0.f;
        for (int64_t ci = 0; ci < p.icg; ++ci)
          for (int64_t t = 0; t < p.ntaps; ++t)
            acc += win[p.tap_off[t] + c0 + ci] * p.w[(t * p.icg + ci) * p.OCp + o];
        dst[o] = gconv2d_epilogue(p, o, acc);
      }
    }
  }
}

}  // namespace dirnet
