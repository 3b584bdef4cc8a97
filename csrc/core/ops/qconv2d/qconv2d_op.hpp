// The int8 convolution inside a Plan: the packed weights of the chosen
// variant, the quantized input buffer, and the two passes of a run
// (quantize the float input, then the int8 convolution with the float
// epilogue). Plan::add_qconv builds one per `qconv2d` / `qlinear` op; the
// tests (csrc/tests/test_qconv2d.cpp) drive it directly, variant by variant.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/prep.hpp"
#include "ops/qconv2d/qconv2d_kernels.hpp"
#include "threadpool.hpp"

namespace dirnet {

struct QConvGeometry {
  int C = 1, OC = 1, KH = 1, KW = 1;
  int stride[2] = {1, 1};
  int pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
  int dil[2] = {1, 1};
};

class QConvOp {
 public:
  // w: int8 [OC][C][KH][KW] (torch's layout, values in [-127, 127]);
  // in_scale: s_x (finite, > 0). Throws std::invalid_argument on bad input.
  QConvOp(const QConvGeometry& g, const int8_t* w, float in_scale, const QConv2dKernel& kernel);

  // After the plan placed its buffers: the float input (interior view, any
  // border), the output size and the epilogue (kind EP_FLOAT, A/B padded to
  // whole blocks of 64). Allocates the quantized buffer.
  void prepare(const FView& in, int OH, int OW, const Epilogue& ep);
  // Quantize, then convolve; pool == nullptr runs both on the calling thread.
  void run(ThreadPool* pool);

  const QConvParams& params() const { return p_; }
  const QConv2dKernel& kernel() const { return *k_; }

 private:
  QConvGeometry g_;
  const QConv2dKernel* k_;
  float inv_scale_ = 1.f;
  std::vector<int8_t> wref_;      // [OC][KH][KW][C]
  AVec<int8_t> w8_;               // QW_S8
  AVec<int16_t> w16_;             // QW_S16
  AVec<int32_t> corr_;            // [OCB * 64]
  AVec<int32_t> zcorr_;           // zeros: the variants without the +128 offset
  AVec<unsigned char> qbuf_;      // quantized input, border filled with 128
  std::vector<int64_t> tap_off_;
  int packed_rlen4_ = -1, packed_dw1_ = -1;  // geometry the packed weights were built for
  QConvParams p_;

  void pack(int rlen, int rlen4, bool row_runs);
};

}  // namespace dirnet
