// gconv2d on any CPU: per output pixel, the accumulators of all output
// channels in a row buffer; each input value is multiplied into the
// contiguous weights of its group's output channels (auto-vectorized).
#include <vector>

#include "ops/gconv2d/gconv2d_kernels.hpp"

namespace dirnet {

void gconv2d_portable(const GConvParams& p, int64_t begin, int64_t end) {
  std::vector<float> acc(size_t(p.OCp));
  float* a = acc.data();
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / p.out.H, y = r % p.out.H;
    for (int64_t x = 0; x < p.out.W; ++x) {
      const float* win = gconv2d_origin(p, n, y, x);
      for (int64_t o = 0; o < p.OC; ++o) a[o] = 0.f;
      for (int64_t t = 0; t < p.ntaps; ++t) {
        const float* src = win + p.tap_off[t];
        const float* wt = p.w + t * p.icg * p.OCp;
        if (p.icg == 1 && p.opg == 1) {  // depthwise: channel o reads channel o
          for (int64_t o = 0; o < p.OC; ++o) a[o] += src[o] * wt[o];
          continue;
        }
        for (int64_t g = 0; g < p.G; ++g)
          for (int64_t ci = 0; ci < p.icg; ++ci) {
            const float v = src[g * p.icg + ci];
            const float* wr = wt + ci * p.OCp + g * p.opg;
            float* ar = a + g * p.opg;
            for (int64_t j = 0; j < p.opg; ++j) ar[j] += v * wr[j];
          }
      }
      float* dst = p.out.data + n * p.out.ns + y * p.out.rs + x * p.out.ps;
      for (int64_t o = 0; o < p.OC; ++o) dst[o] = gconv2d_epilogue(p, o, a[o]);
    }
  }
}

}  // namespace dirnet
