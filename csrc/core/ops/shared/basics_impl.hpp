// Small helpers of the optimized kernels.
//
// Every *_impl.hpp under ops/ is included INSIDE an ISA namespace by an
// <path>.cpp file (one ISA namespace per translation unit, so `#pragma once`
// is per namespace), after that file included <immintrin.h> if it needs it.
// Each inclusion is compiled with that file's target flags, and everything in
// these headers is `static` in a distinct namespace: no inline symbol built
// with AVX-512 can be merged into the portable path by the linker. Do not
// include system headers here.
#pragma once

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }

alignas(64) static const float kZeros32[32] = {0};  // the default sign threshold

// Writes 32 packed bits for channels [oc, oc + 32) of one pixel (oc % 32 == 0).
static inline void put_bits32(uint64_t* pix, int oc, uint32_t bits) {
  unsigned char* p = reinterpret_cast<unsigned char*>(pix + (oc >> 6)) + ((oc >> 5) & 1) * 4;
  __builtin_memcpy(p, &bits, 4);
}
