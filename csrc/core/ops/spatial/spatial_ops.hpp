// Spatial crops, zero padding and zeros as PlanOps (DARTS' FactorizedReduce
// shifts its input by one pixel with a slice and a pad; its 'none' op is zero):
//
//   SliceOp  x[:, :, h0:h1:hs, w0:w1:ws] (stops clipped to the size, as Python)
//   PadOp    zero padding, [top, left, bottom, right]
//   ZeroOp   zeros of shape (N, ceil(H / s), ceil(W / s), C)
#pragma once

#include <string>
#include <vector>

#include "graph/plan_op.hpp"

namespace dirnet {

class SliceOp : public PlanOp {
 public:
  // stop < 0: to the end
  SliceOp(const int start[2], const int stop[2], const int step[2]);
  Shape4 output_shape(const std::vector<Shape4>& in) const override;
  void run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) override;

 private:
  int start_[2], stop_[2], step_[2];
};

class PadOp : public PlanOp {
 public:
  explicit PadOp(const int pads[4]);
  Shape4 output_shape(const std::vector<Shape4>& in) const override;
  void run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) override;

 private:
  int pads_[4];
};

class ZeroOp : public PlanOp {
 public:
  explicit ZeroOp(int stride) : stride_(stride) {}
  Shape4 output_shape(const std::vector<Shape4>& in) const override;
  void run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) override;

 private:
  int stride_;
};

}  // namespace dirnet
