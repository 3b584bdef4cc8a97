// The unary activations as a Plan op (graph/plan_op.hpp): one float input,
// an output of the same shape, the kernel of the plan's path.
#pragma once

#include <memory>

#include "graph/plan_op.hpp"
#include "ops/unary/unary_kernels.hpp"

namespace dirnet {

// kind: a UnaryKind (std::invalid_argument otherwise).
std::shared_ptr<PlanOp> make_unary_op(int32_t kind);

}  // namespace dirnet
