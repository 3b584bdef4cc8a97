// Row kernels of the memory-bound float ops (eltwise, pooling, layout).
// Defined in rowops.cpp, cloned per ISA with target_clones (results do not
// depend on the ISA: every channel is computed by the same scalar formula).
#pragma once

#include <cstdint>

namespace dirnet {

// One output row of W pixels with C channels (pixels dense: stride C).
// z = a; if A: z = A*z + B; if b: z = z + b; z = act(z); o = z
void eltwise_row(float* o, const float* a, const float* b, const float* A, const float* B, int W, int C,
                 int act, float lo, float hi, const float* slope, bool slope1);

// One output row of a max pool: rows[ky] points at input row oy*s - p + ky*d
// (nullptr when outside the image); input pixels are dense with stride C.
void maxpool_row(float* o, const float* const* rows, int KH, int KW, int OW, int IW, int sw, int pl,
                 int dw, int C);

// out[c] = sum over the `cnt` pixels in src of src[i][c], divided by div.
void mean_pixels(float* o, const float* const* src, int cnt, int C, float div);

}  // namespace dirnet
