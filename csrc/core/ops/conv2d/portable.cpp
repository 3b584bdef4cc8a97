// fp32 conv, portable path: scalar loops the compiler vectorises for the
// baseline target. On x86-64 each product is rounded before the add (no FMA
// in the baseline); on aarch64, where FMA is baseline (FMLA), each product is
// added with one rounding in the reference's order, so the path is exact there.
#include "ops/conv2d/conv2d_kernels.hpp"

namespace dirnet {
namespace conv2d_portable_isa {

#include "ops/shared/simd_portable.hpp"

static inline void conv_tile_m(int m, const float* const* base, const int64_t* tap_off, int ntaps,
                               int C, const float* wb, float* out) {
  for (int j = 0; j < m; ++j) {
    float acc[64] = {};
    const float* w = wb;
    for (int t = 0; t < ntaps; ++t) {
      const float* x = base[j] + tap_off[t];
      for (int c = 0; c < C; ++c, w += 64) {
        const float a = x[c];
#if defined(__aarch64__)
        for (int l = 0; l < 64; ++l) acc[l] = __builtin_fmaf(a, w[l], acc[l]);
#else
        for (int l = 0; l < 64; ++l) acc[l] += a * w[l];
#endif
      }
    }
    for (int l = 0; l < 64; ++l) out[j * 64 + l] = acc[l];
  }
}

#include "ops/conv2d/driver_impl.hpp"

}  // namespace conv2d_portable_isa

void conv2d_portable(const ConvParams& p, int64_t begin, int64_t end) {
  conv2d_portable_isa::conv_range(p, begin, end);
}

}  // namespace dirnet
