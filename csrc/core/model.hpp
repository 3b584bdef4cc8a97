// A loaded model: the .dbnn file planned into a native graph. What the C API
// (capi/), the Python module (python/) and dirnet-run (tools/) all share.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/plan.hpp"
#include "loader/dbnn.hpp"
#include "planner/planner.hpp"

namespace dirnet {

class Model {
 public:
  static std::unique_ptr<Model> load_file(const std::string& path, const ModelOptions& opt = {});
  static std::unique_ptr<Model> load_memory(const void* data, size_t size, const ModelOptions& opt = {});
  // Plans an already-read file (the Python module reads through here too).
  static std::unique_ptr<Model> from_file(DbnnFile file, const ModelOptions& opt = {});

  int input_channels() const { return in_channels_; }
  const std::vector<int64_t>& size_hint() const { return size_hint_; }  // [C, H, W] or empty
  const std::vector<OutputInfo>& outputs() const { return outputs_; }
  const std::string& header_json() const { return file_.header_text; }
  const nlohmann::json& header() const { return file_.header; }
  const std::vector<std::string>& describe_ops() const { return describe_; }  // planner's op list
  Plan& plan() { return *plan_; }

  // Shapes (N, C, H, W) of every output for an NCHW input of this shape
  // (rank-2 outputs: (N, F, 1, 1)); std::invalid_argument if the graph cannot take it.
  std::vector<std::array<int64_t, 4>> output_shapes(int N, int C, int H, int W);
  // x: NCHW float32 contiguous; outs[i]: room for output i (output_shapes()[i]).
  void run(const float* x, int N, int C, int H, int W, const std::vector<float*>& outs);
  int threads() const;
  void set_threads(int threads);            // 0: all CPUs; rebuilds the worker pool
  std::string kernel_path() const;          // a name of dispatch.hpp ("avx512", "neon", ...)

 private:
  Model() = default;
  ModelOptions options_;  // what set_threads plans again with
  DbnnFile file_;
  std::unique_ptr<Plan> plan_;
  int in_channels_ = 0;
  std::vector<int64_t> size_hint_;
  std::vector<OutputInfo> outputs_;
  std::vector<std::string> describe_;
};

}  // namespace dirnet
