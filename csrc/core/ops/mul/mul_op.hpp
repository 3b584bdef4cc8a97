// The elementwise product as a Plan op (graph/plan_op.hpp): two float inputs
// of the same shape, or one of them (either) of shape (N, 1, 1, C) against an
// (N, H, W, C) operand; the output has the larger shape.
#pragma once

#include <memory>

#include "graph/plan_op.hpp"

namespace dirnet {

std::shared_ptr<PlanOp> make_mul_op();

}  // namespace dirnet
