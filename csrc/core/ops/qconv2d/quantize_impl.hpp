// The scalar quantizer of one value (every path's tail and the reference):
// q = clamp(round_half_even(x * r), -127, 127), the clamp in float first
// (as the vector code: max then min, so NaN becomes -127), then + 128.
// Included inside an ISA namespace, or by reference.cpp.
#pragma once

static inline int32_t quantize_one(float x, float r) {
  float t = x * r;
  t = t > -127.f ? t : -127.f;  // MAXPS(t, -127): NaN -> -127
  t = t < 127.f ? t : 127.f;    // MINPS(t, 127)
  return int32_t(__builtin_nearbyintf(t));  // round half to even (default rounding mode)
}
