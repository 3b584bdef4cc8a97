// The gconv2d op inside a Plan (PlanOp): grouped / depthwise fp32
// convolution with a per-channel affine and activation epilogue.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/plan_op.hpp"
#include "graph/prep.hpp"
#include "ops/gconv2d/gconv2d_kernels.hpp"

namespace dirnet {

struct GConvGeometry {
  int C = 1, OC = 1, G = 1, KH = 1, KW = 1;
  int stride[2] = {1, 1};
  int pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
  int dil[2] = {1, 1};
};

// The epilogue after the accumulation: out = act(A * acc + B), per channel.
struct GConvEpilogue {
  std::vector<float> A, B;  // empty: 1 and 0
  int act = ACT_NONE;       // ACT_NONE, ACT_RELU, ACT_HARDTANH
  float lo = 0.f, hi = 0.f;
};

class Gconv2dOp : public PlanOp {
 public:
  // w: [OC][C / G][KH][KW] as in the file (torch's layout). Throws
  // std::invalid_argument on an inconsistent geometry.
  Gconv2dOp(const GConvGeometry& g, const float* w, const GConvEpilogue& ep);

  Shape4 output_shape(const std::vector<Shape4>& in) const override;
  int input_border(int input) const override;
  void prepare(const std::vector<FView>& in, const FView& out, const std::string& path) override;
  void run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) override;

 private:
  GConvGeometry g_;
  AVec<float> w_, A_, B_;        // padded to OCp (see GConvParams)
  std::vector<int64_t> tap_off_;
  GConvParams p_;
  const GConv2dKernel* kernel_ = nullptr;
};

}  // namespace dirnet
