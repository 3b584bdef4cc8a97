#include "ops/spatial/spatial_ops.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace dirnet {

namespace {

// len(range(start, min(stop, size), step)) for start, step >= 0 (stop < 0: size).
int sliced(int size, int start, int stop, int step) {
  const int end = stop < 0 ? size : std::min(stop, size);
  return end <= start ? 0 : (end - start + step - 1) / step;
}

const float* pixel(const FView& v, int64_t n, int64_t y, int64_t x) {
  return v.data + n * v.ns + y * v.rs + x * v.ps;
}

float* pixel(const FView& v, int64_t n, int64_t y, int64_t x, int) {
  return v.data + n * v.ns + y * v.rs + x * v.ps;
}

}  // namespace

SliceOp::SliceOp(const int start[2], const int stop[2], const int step[2]) {
  for (int i = 0; i < 2; ++i) {
    if (start[i] < 0 || step[i] < 1) throw std::invalid_argument("slice needs start >= 0 and step >= 1");
    start_[i] = start[i], stop_[i] = stop[i], step_[i] = step[i];
  }
}

Shape4 SliceOp::output_shape(const std::vector<Shape4>& in) const {
  Shape4 o = in.at(0);
  o.H = sliced(o.H, start_[0], stop_[0], step_[0]);
  o.W = sliced(o.W, start_[1], stop_[1], step_[1]);
  if (o.H < 1 || o.W < 1) throw std::invalid_argument("the slice of this input is empty");
  return o;
}

void SliceOp::run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) {
  const FView& a = in[0];
  parallel_for(pool, int64_t(out.N) * out.H, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / out.H, y = r % out.H;
      const int64_t sy = start_[0] + y * step_[0];
      for (int64_t x = 0; x < out.W; ++x)
        std::memcpy(pixel(out, n, y, x, 0), pixel(a, n, sy, start_[1] + x * step_[1]), size_t(out.C) * sizeof(float));
    }
  });
}

PadOp::PadOp(const int pads[4]) {
  for (int i = 0; i < 4; ++i) {
    if (pads[i] < 0) throw std::invalid_argument("pads must be non-negative");
    pads_[i] = pads[i];
  }
}

Shape4 PadOp::output_shape(const std::vector<Shape4>& in) const {
  Shape4 o = in.at(0);
  o.H += pads_[0] + pads_[2];
  o.W += pads_[1] + pads_[3];
  return o;
}

// Every output pixel is written (the plan reuses buffers, so the padding
// cannot rely on a zeroed allocation).
void PadOp::run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) {
  const FView& a = in[0];
  const size_t bytes = size_t(out.C) * sizeof(float);
  parallel_for(pool, int64_t(out.N) * out.H, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / out.H, y = r % out.H, sy = y - pads_[0];
      for (int64_t x = 0; x < out.W; ++x) {
        const int64_t sx = x - pads_[1];
        float* dst = pixel(out, n, y, x, 0);
        if (sy < 0 || sy >= a.H || sx < 0 || sx >= a.W)
          std::memset(dst, 0, bytes);
        else
          std::memcpy(dst, pixel(a, n, sy, sx), bytes);
      }
    }
  });
}

Shape4 ZeroOp::output_shape(const std::vector<Shape4>& in) const {
  Shape4 o = in.at(0);
  o.H = (o.H + stride_ - 1) / stride_;
  o.W = (o.W + stride_ - 1) / stride_;
  return o;
}

void ZeroOp::run(const std::vector<FView>&, const FView& out, ThreadPool& pool) {
  parallel_for(pool, int64_t(out.N) * out.H, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int64_t x = 0; x < out.W; ++x)
        std::memset(pixel(out, r / out.H, r % out.H, x, 0), 0, size_t(out.C) * sizeof(float));
  });
}

}  // namespace dirnet
