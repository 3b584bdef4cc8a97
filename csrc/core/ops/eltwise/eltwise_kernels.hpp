// The eltwise row kernel (affine, add, activation). One implementation, used
// on every kernel path including `reference` (eltwise/reference.cpp, cloned
// per instruction set: see ops/shared/clones.hpp).
#pragma once

#include <cstdint>

namespace dirnet {

// One output row of W pixels with C channels (pixels dense: stride C).
// z = a; if A: z = A*z + B; if b: z = z + b; z = act(z); o = z
void eltwise_row(float* o, const float* a, const float* b, const float* A, const float* B, int W, int C,
                 int act, float lo, float hi, const float* slope, bool slope1);

}  // namespace dirnet
