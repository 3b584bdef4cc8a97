// The interface an op family implements to run inside a Plan without the
// Plan knowing it: its output shape, the zero border it reads around its
// inputs, and its kernel over resolved float views. The op families written
// before this interface (conv, bconv, pack, eltwise, pooling, shortcut,
// flatten) are still built into plan.cpp; new families implement PlanOp in
// their own folder (core/ops/<family>/) and are added with Plan::add_op.
#pragma once

#include <string>
#include <vector>

#include "common.hpp"
#include "threadpool.hpp"

namespace dirnet {

struct Shape4 {  // NHWC sizes of a float tensor
  int N = 0, H = 0, W = 0, C = 0;
};

class PlanOp {
 public:
  virtual ~PlanOp() = default;
  // The output's shape for these input shapes; throw std::invalid_argument
  // with a short reason when they do not fit (the plan names the op).
  virtual Shape4 output_shape(const std::vector<Shape4>& in) const = 0;
  // Pixels of zero border the op reads around input i (padding without
  // bounds checks); the plan gives that tensor a dedicated zeroed buffer.
  virtual int input_border(int input) const { return 0; }
  // Called once per resolve, after the buffers are placed, with the kernel
  // path's name (dispatch.hpp: "avx512", "neon", ...): the op may pick
  // its kernel and precompute offsets. The views stay valid until the next call.
  virtual void prepare(const std::vector<FView>& in, const FView& out, const std::string& path) {}
  virtual void run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) = 0;
};

}  // namespace dirnet
