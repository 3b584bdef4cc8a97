// int8 conv, portable path: u8 buffer (x_q + 128), scalar loops over the 64
// output channels of a block that the compiler vectorises for the baseline
// target. Integer sums: bit-identical to the reference.
#include "ops/qconv2d/qconv2d_kernels.hpp"

namespace dirnet {
namespace qconv2d_portable_isa {

#include "ops/shared/simd_portable.hpp"
#include "ops/qconv2d/quantize_impl.hpp"

using QElem = uint8_t;
using QWElem = int8_t;
constexpr int QTILE = 4;
constexpr int kPasses = 1, kPassW = 0;  // see driver_impl.hpp

template <int M>
static inline void qpass(const uint8_t* const* base, const int64_t* tap_off, int ntaps, int G, const int8_t* wb,
                         const int32_t* corr, int32_t* out) {
  for (int j = 0; j < M; ++j) {
    int32_t acc[64];
    for (int l = 0; l < 64; ++l) acc[l] = corr[l];
    const int8_t* w = wb;
    for (int t = 0; t < ntaps; ++t) {
      const uint8_t* x = base[j] + tap_off[t];
      for (int g = 0; g < G; ++g, w += 256) {
        const int32_t a0 = x[4 * g], a1 = x[4 * g + 1], a2 = x[4 * g + 2], a3 = x[4 * g + 3];
        for (int l = 0; l < 64; ++l)
          acc[l] += a0 * w[4 * l] + a1 * w[4 * l + 1] + a2 * w[4 * l + 2] + a3 * w[4 * l + 3];
      }
    }
    for (int l = 0; l < 64; ++l) out[j * 64 + l] = acc[l];
  }
}

#include "ops/qconv2d/driver_impl.hpp"

}  // namespace qconv2d_portable_isa

int64_t qconv2d_portable_items(const QConvParams& p) { return qconv2d_tiles(p, qconv2d_portable_isa::QTILE); }

void qconv2d_portable_quantize(const QConvParams& p, int64_t begin, int64_t end) {
  const int64_t len = int64_t(p.in.W) * p.C;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / p.in.H, y = r % p.in.H;
    const float* s = p.in.data + n * p.in.ns + y * p.in.rs;
    uint8_t* d = static_cast<uint8_t*>(p.q) + n * p.qns + y * p.qrs;
    for (int64_t i = 0; i < len; ++i) d[i] = uint8_t(qconv2d_portable_isa::quantize_one(s[i], p.inv_scale) + 128);
  }
}

void qconv2d_portable(const QConvParams& p, int64_t begin, int64_t end) {
  qconv2d_portable_isa::qconv_range(p, begin, end);
}

}  // namespace dirnet
