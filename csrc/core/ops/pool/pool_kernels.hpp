// Pooling row kernels (max, average, adaptive average). One implementation,
// used on every kernel path including `reference` (pool/reference.cpp, cloned
// per instruction set: see ops/shared/clones.hpp).
#pragma once

#include <cstdint>

namespace dirnet {

// One output row of a max pool: rows[ky] points at input row oy*s - p + ky*d
// (nullptr when outside the image); input pixels are dense with stride C.
void maxpool_row(float* o, const float* const* rows, int KH, int KW, int OW, int IW, int sw, int pl,
                 int dw, int C);

// out[c] = sum over the `cnt` pixels in src of src[i][c], divided by div
// (average and adaptive average pooling).
void mean_pixels(float* o, const float* const* src, int cnt, int C, float div);

}  // namespace dirnet
