// The C API (include/dirnet.h) over dirnet::Model. Every entry point catches
// everything: C callers get a status code and a per-thread message, never an
// exception unwinding through C frames.
#include "dirnet.h"

#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "model.hpp"

struct dirnet_model {
  std::unique_ptr<dirnet::Model> model;
  std::mutex mu;                     // serializes calls on one model (see dirnet.h)
  std::vector<std::string> output_names;
  std::string kernel_path;
};

namespace {

thread_local std::string g_last_error;

dirnet_status fail(dirnet_status status, const std::string& msg) {
  g_last_error = msg;
  return status;
}

// Runs f(), mapping every exception to a status and the thread's message.
template <typename F>
dirnet_status guarded(F&& f) {
  try {
    f();
    return DIRNET_OK;
  } catch (const dirnet::FormatError& e) {
    return fail(DIRNET_ERROR_FORMAT, e.what());
  } catch (const dirnet::IoError& e) {
    return fail(DIRNET_ERROR_IO, e.what());
  } catch (const std::invalid_argument& e) {
    return fail(DIRNET_ERROR_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return fail(DIRNET_ERROR_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(DIRNET_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(DIRNET_ERROR_INTERNAL, "unknown error");
  }
}

dirnet::ModelOptions options_of(const dirnet_options* o) {
  dirnet::ModelOptions opt;
  if (!o) return opt;
  if (o->threads < 0) throw std::invalid_argument("threads must be >= 0 (0: all CPUs)");
  opt.threads = o->threads;
  if (o->kernel_path) opt.kernel_path = o->kernel_path;
  opt.max_bytes = size_t(o->max_bytes);
  return opt;
}

dirnet_status finish_load(std::unique_ptr<dirnet::Model> m, dirnet_model** out) {
  auto h = std::make_unique<dirnet_model>();
  for (const auto& o : m->outputs()) h->output_names.push_back(o.name);
  h->kernel_path = m->kernel_path();
  h->model = std::move(m);
  *out = h.release();
  return DIRNET_OK;
}

// Checked (N, C, H, W) as ints.
void shape_of(const int64_t* s, int dims[4]) {
  if (!s) throw std::invalid_argument("input shape is NULL");
  for (int i = 0; i < 4; ++i) {
    if (s[i] < 1 || s[i] > (int64_t(1) << 20))
      throw std::invalid_argument("input dimension " + std::to_string(i) + " must be in [1, 2^20], got " +
                                  std::to_string(s[i]));
    dims[i] = int(s[i]);
  }
}

}  // namespace

extern "C" {

const char* dirnet_version(void) { return DIRNET_VERSION_STRING; }

const char* dirnet_last_error(void) { return g_last_error.c_str(); }

dirnet_status dirnet_load_file(const char* path, const dirnet_options* options, dirnet_model** model) {
  if (!model) return fail(DIRNET_ERROR_ARGUMENT, "model pointer is NULL");
  *model = nullptr;
  if (!path) return fail(DIRNET_ERROR_ARGUMENT, "path is NULL");
  return guarded([&] { finish_load(dirnet::Model::load_file(path, options_of(options)), model); });
}

dirnet_status dirnet_load_memory(const void* data, size_t size, const dirnet_options* options,
                                 dirnet_model** model) {
  if (!model) return fail(DIRNET_ERROR_ARGUMENT, "model pointer is NULL");
  *model = nullptr;
  if (!data && size) return fail(DIRNET_ERROR_ARGUMENT, "data is NULL");
  return guarded([&] { finish_load(dirnet::Model::load_memory(data, size, options_of(options)), model); });
}

void dirnet_free(dirnet_model* model) { delete model; }

int dirnet_num_inputs(const dirnet_model* model) { return model ? 1 : 0; }

int dirnet_input_channels(const dirnet_model* model) { return model ? model->model->input_channels() : 0; }

int dirnet_input_size_hint(const dirnet_model* model, int64_t chw[3]) {
  if (!model || !chw) return 0;
  const auto& h = model->model->size_hint();
  if (h.size() != 3) return 0;
  for (int i = 0; i < 3; ++i) chw[i] = h[i];
  return 1;
}

int dirnet_num_outputs(const dirnet_model* model) { return model ? int(model->output_names.size()) : 0; }

const char* dirnet_output_name(const dirnet_model* model, int index) {
  if (!model || index < 0 || index >= int(model->output_names.size())) return nullptr;
  return model->output_names[size_t(index)].c_str();
}

dirnet_status dirnet_output_shape(dirnet_model* model, int index, const int64_t in_shape[4],
                                  int64_t out_shape[4], int* rank) {
  if (!model || !out_shape) return fail(DIRNET_ERROR_ARGUMENT, "model or out_shape is NULL");
  if (index < 0 || index >= int(model->output_names.size()))
    return fail(DIRNET_ERROR_ARGUMENT, "output index " + std::to_string(index) + " out of range (the model has " +
                                           std::to_string(model->output_names.size()) + ")");
  return guarded([&] {
    int d[4];
    shape_of(in_shape, d);
    std::lock_guard<std::mutex> lk(model->mu);
    const auto shapes = model->model->output_shapes(d[0], d[1], d[2], d[3]);
    for (int i = 0; i < 4; ++i) out_shape[i] = shapes[size_t(index)][size_t(i)];
    if (rank) *rank = model->model->outputs()[size_t(index)].rank;
  });
}

dirnet_status dirnet_run(dirnet_model* model, const float* input, const int64_t in_shape[4],
                         float* const* outputs, const size_t* capacities) {
  if (!model || !input || !outputs || !capacities)
    return fail(DIRNET_ERROR_ARGUMENT, "model, input, outputs and capacities must not be NULL");
  return guarded([&] {
    int d[4];
    shape_of(in_shape, d);
    std::lock_guard<std::mutex> lk(model->mu);
    const auto shapes = model->model->output_shapes(d[0], d[1], d[2], d[3]);
    std::vector<float*> outs(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      const size_t need = size_t(shapes[i][0] * shapes[i][1] * shapes[i][2] * shapes[i][3]);
      if (!outputs[i]) throw std::invalid_argument("output buffer " + std::to_string(i) + " is NULL");
      if (capacities[i] < need)
        throw std::invalid_argument("output buffer " + std::to_string(i) + " holds " + std::to_string(capacities[i]) +
                                    " floats, the output needs " + std::to_string(need));
      outs[i] = outputs[i];
    }
    model->model->run(input, d[0], d[1], d[2], d[3], outs);
  });
}

int dirnet_threads(const dirnet_model* model) { return model ? model->model->threads() : 0; }

dirnet_status dirnet_set_threads(dirnet_model* model, int threads) {
  if (!model) return fail(DIRNET_ERROR_ARGUMENT, "model is NULL");
  return guarded([&] {
    if (threads < 0) throw std::invalid_argument("threads must be >= 0 (0: all CPUs)");
    std::lock_guard<std::mutex> lk(model->mu);
    model->model->set_threads(threads);
  });
}

const char* dirnet_kernel_path(const dirnet_model* model) { return model ? model->kernel_path.c_str() : ""; }

const char* dirnet_header_json(const dirnet_model* model) {
  return model ? model->model->header_json().c_str() : "";
}

}  // extern "C"
