// Weight re-layout and small helpers shared by the plan and the test bindings.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

namespace dirnet {

// 64-byte aligned storage (vector-friendly, never shared between kernels).
template <typename T>
struct AlignedAlloc {
  using value_type = T;
  AlignedAlloc() = default;
  template <typename U>
  AlignedAlloc(const AlignedAlloc<U>&) {}
  T* allocate(size_t n) {
    if (n == 0) n = 1;
    if (n > (size_t(1) << 46) / sizeof(T)) throw std::bad_alloc();
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const AlignedAlloc<U>&) const { return true; }
  template <typename U>
  bool operator!=(const AlignedAlloc<U>&) const { return false; }
};
template <typename T>
using AVec = std::vector<T, AlignedAlloc<T>>;

inline int words_for(int64_t channels) { return int((channels + 63) / 64); }

// [OC][ntaps][Cw] packed signs -> [OCB][ntaps * Cw][32] (zero rows past OC).
inline AVec<uint64_t> block_bweights(const uint64_t* w, int OC, int ntaps, int Cw) {
  const int OCB = int(ceil_div(OC, kBlk));
  const int64_t K = int64_t(ntaps) * Cw;
  AVec<uint64_t> out(size_t(OCB) * K * kBlk, 0);
  for (int oc = 0; oc < OC; ++oc)
    for (int64_t k = 0; k < K; ++k)
      out[(size_t(oc / kBlk) * K + k) * kBlk + oc % kBlk] = w[size_t(oc) * K + k];
  return out;
}

// Sum of the +-1 weight signs of each tap, per output channel: [ntaps][OCB*32].
// A zero-padded input contributes 0 at a border tap, the packed (one-padded)
// input contributed this sum, so border outputs subtract it.
inline AVec<int32_t> tap_sums(const uint64_t* w, int OC, int ntaps, int Cw, int C) {
  const int ocp = int(ceil_div(OC, kBlk)) * kBlk;
  AVec<int32_t> out(size_t(ntaps) * ocp, 0);
  for (int oc = 0; oc < OC; ++oc)
    for (int t = 0; t < ntaps; ++t) {
      int neg = 0;
      for (int c = 0; c < Cw; ++c) neg += __builtin_popcountll(w[(size_t(oc) * ntaps + t) * Cw + c]);
      out[size_t(t) * ocp + oc] = C - 2 * neg;
    }
  return out;
}

// torch layout [OC][C][KH][KW] -> [OCB][KH*KW*C][64] (zero columns past OC).
inline AVec<float> block_fweights(const float* w, int OC, int C, int KH, int KW) {
  const int OCB = int(ceil_div(OC, kFBlk));
  const int64_t K = int64_t(KH) * KW * C;
  AVec<float> out(size_t(OCB) * K * kFBlk, 0.f);
  for (int oc = 0; oc < OC; ++oc)
    for (int c = 0; c < C; ++c)
      for (int ky = 0; ky < KH; ++ky)
        for (int kx = 0; kx < KW; ++kx) {
          const int64_t k = (int64_t(ky) * KW + kx) * C + c;
          out[(size_t(oc / kFBlk) * K + k) * kFBlk + oc % kFBlk] =
              w[((size_t(oc) * C + c) * KH + ky) * KW + kx];
        }
  return out;
}

// Copies n values and zero-pads to `padded` (per-channel epilogue vectors).
template <typename T>
inline AVec<T> padded_copy(const T* src, size_t n, size_t padded, T fill = T(0)) {
  AVec<T> out(padded < n ? n : padded, fill);
  for (size_t i = 0; i < n; ++i) out[i] = src[i];
  return out;
}

}  // namespace dirnet
