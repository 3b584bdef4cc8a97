// Channel concatenation (file op `concat`, torch.cat(..., dim=1)) as a PlanOp:
// any number of float inputs of one batch and spatial size; the output's
// channels are the inputs' channels in order.
#pragma once

#include <string>
#include <vector>

#include "graph/plan_op.hpp"

namespace dirnet {

class ConcatOp : public PlanOp {
 public:
  Shape4 output_shape(const std::vector<Shape4>& in) const override;
  void run(const std::vector<FView>& in, const FView& out, ThreadPool& pool) override;
};

}  // namespace dirnet
