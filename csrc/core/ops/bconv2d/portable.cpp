// Binary conv, portable path: scalar 64-bit popcount (built with -mpopcnt on
// x86-64, where the default x86-64 target would call a slow software popcount;
// on aarch64 the compiler uses the NEON `cnt` instruction).
#include "ops/bconv2d/bconv2d_kernels.hpp"

namespace dirnet {
namespace bconv2d_portable_isa {

#include "ops/shared/simd_portable.hpp"

template <int M>
static inline void bconv_tile(const uint64_t* const* base, const int64_t* tap_off, int ntaps, int Cw,
                              const uint64_t* wb, int32_t* dots, int32_t Kbits) {
  for (int g = 0; g < 32; g += 8) {  // 8 channels at a time keep M*8 counters in registers
    uint32_t pop[M][8] = {};
    const uint64_t* w = wb + g;
    for (int t = 0; t < ntaps; ++t) {
      for (int c = 0; c < Cw; ++c, w += 32) {
        for (int j = 0; j < M; ++j) {
          const uint64_t a = base[j][tap_off[t] + c];
          for (int l = 0; l < 8; ++l) pop[j][l] += uint32_t(__builtin_popcountll(a ^ w[l]));
        }
      }
    }
    for (int j = 0; j < M; ++j)
      for (int l = 0; l < 8; ++l) dots[j * 32 + g + l] = Kbits - 2 * int32_t(pop[j][l]);
  }
}

static inline void bconv_tile_m(int m, const uint64_t* const* base, const int64_t* tap_off, int ntaps,
                                int Cw, const uint64_t* wb, int32_t* dots, int32_t Kbits) {
  for (int j0 = 0; j0 < m; j0 += 2) {
    if (m - j0 >= 2) bconv_tile<2>(base + j0, tap_off, ntaps, Cw, wb, dots + j0 * 32, Kbits);
    else bconv_tile<1>(base + j0, tap_off, ntaps, Cw, wb, dots + j0 * 32, Kbits);
  }
}

#include "ops/bconv2d/driver_impl.hpp"

}  // namespace bconv2d_portable_isa

void bconv2d_portable(const BConvParams& p, int64_t begin, int64_t end) {
  bconv2d_portable_isa::bconv_range(p, begin, end);
}

}  // namespace dirnet
