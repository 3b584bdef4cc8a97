// The epilogue of the optimized convolutions (binary and fp32), applied to a
// tile of accumulators: BN-style fma(A, v, B), residual, activation, float
// store, sign packing, or the integer thresholds. The AVX-512 binary conv has
// a vector twin of the float part (bconv2d/avx512.cpp, fused_pixel) with the
// same operations in the same order. ops/<op>/reference.cpp compute the
// same thing independently, from the definition.
//
// Included inside an ISA namespace (see basics_impl.hpp) after that
// namespace's mask helpers (ops/shared/simd_<isa>.hpp).
#pragma once

#include "ops/shared/basics_impl.hpp"

// Applies the epilogue to one tile: `vals` holds m rows of BW values (int32
// dots or float accumulators) for channels [oc0, oc0 + BW).
template <typename V, int BW>
static inline void epilogue_tile(const Epilogue& ep, const V* vals, int m, const int32_t* pn,
                                 const int32_t* py, const int32_t* px, int oc0) {
  for (int j = 0; j < m; ++j) {
    const V* v = vals + j * BW;
    const int64_t n = pn[j], y = py[j], x = px[j];
    for (int s = 0; s < BW / 32; ++s) {
      const int oc = oc0 + 32 * s;
      if (oc >= ep.OC) break;
      const int ocn = imin(32, ep.OC - oc);
      const uint32_t valid = ocn == 32 ? 0xffffffffu : ((1u << ocn) - 1u);
      const V* vs = v + 32 * s;
      if (ep.kind == EP_INT) {
        int32_t* o = ep.out_i.data + n * ep.out_i.ns + y * ep.out_i.rs + x * ep.out_i.ps + oc;
        for (int c = 0; c < ocn; ++c) o[c] = int32_t(vs[c]);  // test path only
        continue;
      }
      uint32_t bits = 0;
      if (ep.kind == EP_THRESH) {
        alignas(64) int32_t sd[32];
        const int32_t* sg = ep.sgn + oc;
        for (int c = 0; c < 32; ++c) sd[c] = sg[c] * int32_t(vs[c]);
        bits = mask_lt_i32x32(sd, ep.T + oc) & valid;
      } else {
        alignas(64) float z[32];
        const float* A = ep.A + oc;
        const float* B = ep.B + oc;
        for (int c = 0; c < 32; ++c) z[c] = std::fma(A[c], float(vs[c]), B[c]);
        if (ep.res.data) {
          const float* r = ep.res.data + n * ep.res.ns + y * ep.res.rs + x * ep.res.ps + oc;
          if (ocn == 32) {
            for (int c = 0; c < 32; ++c) z[c] += r[c];
          } else {
            for (int c = 0; c < ocn; ++c) z[c] += r[c];
          }
        }
        if (ep.act == ACT_HARDTANH) {
          const float lo = ep.lo, hi = ep.hi;
          for (int c = 0; c < 32; ++c) {
            float t = z[c] < lo ? lo : z[c];
            z[c] = t > hi ? hi : t;
          }
        } else if (ep.act == ACT_RELU) {
          for (int c = 0; c < 32; ++c) z[c] = z[c] > 0.f ? z[c] : 0.f;
        } else if (ep.act == ACT_PRELU) {
          const float* sl = ep.slope + oc;
          for (int c = 0; c < 32; ++c) z[c] = z[c] >= 0.f ? z[c] : z[c] * sl[c];
        }
        if (ep.out_f.data) {
          float* o = ep.out_f.data + n * ep.out_f.ns + y * ep.out_f.rs + x * ep.out_f.ps + oc;
          if (ocn == 32) {
            __builtin_memcpy(o, z, sizeof(float) * 32);  // fixed size: inlined vector stores
          } else {
            for (int c = 0; c < ocn; ++c) o[c] = z[c];
          }
        }
        if (ep.out_b.data) bits = mask_nge_f32x32(z, ep.pack_thr ? ep.pack_thr + oc : kZeros32) & valid;
      }
      if (ep.out_b.data) {
        uint64_t* pix = ep.out_b.data + n * ep.out_b.ns + y * ep.out_b.rs + x * ep.out_b.ps;
        put_bits32(pix, oc, bits);
        // The last block may end in the low half of a word: clear the high half
        // so a reused buffer never leaks stale bits into channel padding.
        if (((oc >> 5) & 1) == 0 && oc + 32 >= ep.OC && (oc >> 6) < ep.out_b.Cw) put_bits32(pix, oc + 32, 0u);
      }
    }
  }
}
