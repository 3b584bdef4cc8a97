#include "model.hpp"

namespace dirnet {

std::unique_ptr<Model> Model::load_file(const std::string& path, const ModelOptions& opt) {
  return from_file(read_dbnn_file(path), opt);
}

std::unique_ptr<Model> Model::load_memory(const void* data, size_t size, const ModelOptions& opt) {
  return from_file(read_dbnn_memory(data, size), opt);
}

std::unique_ptr<Model> Model::from_file(DbnnFile file, const ModelOptions& opt) {
  std::unique_ptr<Model> m(new Model());
  m->options_ = opt;
  m->file_ = std::move(file);
  PlannedGraph g = plan_graph(m->file_, opt);  // reads the tensors m->file_ owns
  m->plan_ = std::move(g.plan);
  m->in_channels_ = g.in_channels;
  m->outputs_ = std::move(g.outputs);
  m->describe_ = std::move(g.describe);
  const nlohmann::json& input = m->file_.header["input"];
  auto hint = input.find("size_hint");
  if (hint != input.end() && hint->is_array())
    for (const auto& v : *hint)
      if (v.is_number_integer()) m->size_hint_.push_back(v.get<int64_t>());
  if (m->size_hint_.size() != 3) m->size_hint_.clear();
  return m;
}

std::vector<std::array<int64_t, 4>> Model::output_shapes(int N, int C, int H, int W) {
  std::vector<std::array<int64_t, 4>> out;
  for (const auto& s : plan_->output_shapes(N, C, H, W)) out.push_back({s[0], s[1], s[2], s[3]});
  return out;
}

int Model::threads() const { return plan_->threads(); }

std::string Model::kernel_path() const { return plan_->path(); }

void Model::run(const float* x, int N, int C, int H, int W, const std::vector<float*>& outs) {
  plan_->run(x, N, C, H, W, outs);
}

// The worker pool belongs to the plan: plan the same file again (it gives the same graph).
void Model::set_threads(int threads) {
  ModelOptions opt = options_;
  opt.threads = threads;
  PlannedGraph g = plan_graph(file_, opt);
  plan_ = std::move(g.plan);
  options_ = opt;
}

}  // namespace dirnet
