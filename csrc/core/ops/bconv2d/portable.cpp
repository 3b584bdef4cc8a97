// Portable path: scalar 64-bit popcount (built with -mpopcnt on x86-64, where
// the default x86-64 target would call a slow software popcount; on aarch64
// the compiler uses the NEON `cnt` instruction). Also the reference for the
// vector paths in the tests.
#include "common.hpp"

namespace dirnet {
namespace isa_portable {

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

static inline void conv_tile_m(int m, const float* const* base, const int64_t* tap_off, int ntaps,
                               int C, const float* wb, float* out) {
  for (int j = 0; j < m; ++j) {
    float acc[64] = {};
    const float* w = wb;
    for (int t = 0; t < ntaps; ++t) {
      const float* x = base[j] + tap_off[t];
      for (int c = 0; c < C; ++c, w += 64) {
        const float a = x[c];
        for (int l = 0; l < 64; ++l) acc[l] += a * w[l];
      }
    }
    for (int l = 0; l < 64; ++l) out[j * 64 + l] = acc[l];
  }
}

static inline uint32_t mask_nge_f32x32(const float* z, const float* t) {
  uint32_t r = 0;
  for (int c = 0; c < 32; ++c) r |= uint32_t(!(z[c] >= t[c])) << c;
  return r;
}

static inline uint32_t mask_lt_i32x32(const int32_t* a, const int32_t* b) {
  uint32_t r = 0;
  for (int c = 0; c < 32; ++c) r |= uint32_t(a[c] < b[c]) << c;
  return r;
}

#include "kernels/kernels_impl.hpp"

}  // namespace isa_portable

const Kernels kPortable = {"portable", isa_portable::bconv_range, isa_portable::conv_range,
                           isa_portable::pack_range};

}  // namespace dirnet
