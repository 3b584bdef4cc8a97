// From a read .dbnn file to a native Plan: validate every op (a hostile file
// gives a FormatError naming the op, never a crash), fuse epilogues, fold
// BN + sign into integer thresholds, and emit the plan.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/plan.hpp"
#include "loader/dbnn.hpp"

namespace dirnet {

struct ModelOptions {
  int threads = 0;              // 0: all CPUs this process may use
  std::string kernel_path;      // "": default (best, or $DIRNET_KERNEL)
  size_t max_bytes = 0;         // 0: the plan's default limit
};

struct OutputInfo {
  std::string name;             // what the exported model returned it as (value name, tuple index or dict key)
  int rank = 4;                 // 2: (N, features), 4: NCHW
};

struct PlannedGraph {
  std::unique_ptr<Plan> plan;
  int in_channels = 0;
  std::vector<OutputInfo> outputs;      // in the plan's output order
  std::vector<std::string> describe;    // one line per emitted op ("bconv layer1.0.conv1 [threshold epilogue]", ...)
};

PlannedGraph plan_graph(const DbnnFile& file, const ModelOptions& opt);

}  // namespace dirnet
