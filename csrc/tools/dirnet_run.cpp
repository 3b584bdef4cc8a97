// dirnet-run: run a .dbnn model from the command line, with no Python.
//
//   dirnet-run model.dbnn --input x.npy            top-5 classes and timings
//   dirnet-run model.dbnn --shape 1,3,224,224      random input (latency check)
//
// The model is driven through the public C API (include/dirnet.h) only, so
// this file doubles as its worked example; .npy reading and the class names
// use the core's internal helpers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dirnet.h"
#include "util/npy.hpp"

namespace {

const char* kUsage =
    "usage: dirnet-run MODEL.dbnn [--input X.npy | --shape N,C,H,W] [options]\n"
    "\n"
    "Runs a .dbnn model on an input and prints each output's top-k (rank-2\n"
    "outputs: classes, with names when the file has them) and the timings.\n"
    "\n"
    "  --input X.npy      float32 input, (N, C, H, W) or (C, H, W); float64/uint8\n"
    "                     are converted to float32 values as they are (no scaling)\n"
    "  --shape N,C,H,W    random normal input of this shape instead (default: the\n"
    "                     model's exported size with N = 1)\n"
    "  --top K            classes to print per image (default 5)\n"
    "  --threads T        worker threads (default 0: all CPUs)\n"
    "  --kernel PATH      avx512 | avx2 | neon_dot | neon | portable | reference\n"
    "                     (default: the best this CPU has)\n"
    "  --repeat R         timed runs after the first (default 10)\n"
    "  --output OUT.npy   write output 0 there (OUT.<i>.npy for outputs i > 0)\n"
    "  --quiet            print the timings line only\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 ok, 2 bad arguments or unreadable model/input, 1 internal error.\n";

struct Args {
  std::string model, input, output, kernel;
  std::vector<int64_t> shape;
  int top = 5, threads = 0, repeat = 10;
  bool quiet = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "dirnet-run: error: %s\n(dirnet-run --help for usage)\n", msg.c_str());
  std::exit(2);
}

int to_int(const std::string& flag, const char* v, int lo, int hi) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (!*v || *end || x < lo || x > hi)
    usage_error(flag + " needs an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'");
  return int(x);
}

std::vector<int64_t> to_shape(const char* v) {
  std::vector<int64_t> s;
  std::string cur;
  for (const char* p = v;; ++p) {
    if (*p == ',' || !*p) {
      s.push_back(to_int("--shape", cur.c_str(), 1, 1 << 20));
      cur.clear();
      if (!*p) break;
    } else {
      cur.push_back(*p);
    }
  }
  if (s.size() != 4) usage_error("--shape needs four numbers N,C,H,W");
  return s;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(f + " needs a value");
      return argv[++i];
    };
    if (f == "-h" || f == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (f == "--input") a.input = value();
    else if (f == "--shape") a.shape = to_shape(value());
    else if (f == "--top") a.top = to_int(f, value(), 1, 1000000);
    else if (f == "--threads") a.threads = to_int(f, value(), 0, 1024);
    else if (f == "--kernel") a.kernel = value();
    else if (f == "--repeat") a.repeat = to_int(f, value(), 0, 1000000);
    else if (f == "--output") a.output = value();
    else if (f == "--quiet") a.quiet = true;
    else if (!f.empty() && f[0] == '-') usage_error("unknown option " + f);
    else if (a.model.empty()) a.model = f;
    else usage_error("unexpected argument '" + f + "'");
  }
  if (a.model.empty()) usage_error("give a .dbnn model");
  if (!a.input.empty() && !a.shape.empty()) usage_error("give --input or --shape, not both");
  return a;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The input tensor: from --input, or random normal of --shape / the size hint.
std::vector<float> make_input(const Args& a, dirnet_model* m, std::vector<int64_t>& shape) {
  if (!a.input.empty()) {
    dirnet::NpyArray arr;
    try {
      arr = dirnet::read_npy(a.input);
      shape = arr.shape;
      if (shape.size() == 3) shape.insert(shape.begin(), 1);
      if (shape.size() != 4) usage_error(a.input + ": input must be (N, C, H, W) or (C, H, W)");
      return arr.as_f32();
    } catch (const std::exception& e) {
      usage_error(e.what());
    }
  }
  shape = a.shape;
  if (shape.empty()) {
    int64_t chw[3];
    if (!dirnet_input_size_hint(m, chw)) usage_error("the model records no input size: give --input or --shape");
    shape = {1, chw[0], chw[1], chw[2]};
  }
  std::mt19937 gen(0);
  std::normal_distribution<float> nd;
  std::vector<float> x(size_t(shape[0] * shape[1] * shape[2] * shape[3]));
  for (float& v : x) v = nd(gen);
  return x;
}

std::vector<std::string> class_names(dirnet_model* m) {
  std::vector<std::string> names;
  const auto h = nlohmann::json::parse(dirnet_header_json(m), nullptr, false);
  if (h.is_object() && h.contains("class_names") && h["class_names"].is_array())
    for (const auto& n : h["class_names"])
      names.push_back(n.is_string() ? n.get<std::string>() : std::string());
  return names;
}

void print_top(const float* out, const int64_t* s, int top, const std::vector<std::string>& names) {
  const int64_t F = s[1] * s[2] * s[3];
  for (int64_t n = 0; n < s[0]; ++n) {
    const float* row = out + n * F;
    std::vector<int64_t> idx(static_cast<size_t>(F));
    for (int64_t i = 0; i < F; ++i) idx[size_t(i)] = i;
    const int64_t k = std::min<int64_t>(top, F);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t x, int64_t y) { return row[x] > row[y]; });
    std::printf("  image %lld:", static_cast<long long>(n));
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = idx[size_t(j)];
      std::printf("%s %lld", j ? " |" : "", static_cast<long long>(c));
      if (c < int64_t(names.size())) std::printf(" %s", names[size_t(c)].c_str());
      std::printf(" %.4g", double(row[c]));
    }
    std::printf("\n");
  }
}

std::string output_path(const std::string& base, int i) {
  if (i == 0) return base;
  const size_t dot = base.rfind(".npy");
  const std::string stem = dot == std::string::npos ? base : base.substr(0, dot);
  return stem + "." + std::to_string(i) + ".npy";
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  dirnet_options opt{a.threads, a.kernel.c_str(), 0};
  dirnet_model* m = nullptr;
  const auto t_load = std::chrono::steady_clock::now();
  const dirnet_status st = dirnet_load_file(a.model.c_str(), &opt, &m);
  const double load_ms = ms_since(t_load);
  if (st != DIRNET_OK) {
    std::fprintf(stderr, "dirnet-run: error: %s\n", dirnet_last_error());
    return st == DIRNET_ERROR_INTERNAL ? 1 : 2;
  }
  std::vector<int64_t> shape;
  const std::vector<float> x = make_input(a, m, shape);
  const int nout = dirnet_num_outputs(m);
  const size_t no = static_cast<size_t>(nout);
  std::vector<std::vector<float>> outs(no);
  std::vector<std::vector<int64_t>> oshape(no, std::vector<int64_t>(4));
  std::vector<float*> ptrs(no);
  std::vector<size_t> caps(no);
  std::vector<int> ranks(no);
  for (int i = 0; i < nout; ++i) {
    if (dirnet_output_shape(m, i, shape.data(), oshape[size_t(i)].data(), &ranks[size_t(i)]) != DIRNET_OK) {
      std::fprintf(stderr, "dirnet-run: error: %s\n", dirnet_last_error());
      dirnet_free(m);
      return 2;
    }
    const auto& s = oshape[size_t(i)];
    outs[size_t(i)].resize(size_t(s[0] * s[1] * s[2] * s[3]));
    ptrs[size_t(i)] = outs[size_t(i)].data();
    caps[size_t(i)] = outs[size_t(i)].size();
  }
  auto run_once = [&]() -> double {
    const auto t0 = std::chrono::steady_clock::now();
    if (dirnet_run(m, x.data(), shape.data(), ptrs.data(), caps.data()) != DIRNET_OK) {
      std::fprintf(stderr, "dirnet-run: error: %s\n", dirnet_last_error());
      dirnet_free(m);
      std::exit(2);
    }
    return ms_since(t0);
  };
  const double first_ms = run_once();
  std::vector<double> times;
  for (int r = 0; r < a.repeat; ++r) times.push_back(run_once());
  std::sort(times.begin(), times.end());

  if (!a.quiet) {
    std::printf("model   %s (kernel %s, %d threads)\n", a.model.c_str(), dirnet_kernel_path(m), dirnet_threads(m));
    std::printf("input   %s (%lld, %lld, %lld, %lld)\n", a.input.empty() ? "random normal" : a.input.c_str(),
                static_cast<long long>(shape[0]), static_cast<long long>(shape[1]),
                static_cast<long long>(shape[2]), static_cast<long long>(shape[3]));
    const auto names = class_names(m);
    for (int i = 0; i < nout; ++i) {
      const auto& s = oshape[size_t(i)];
      if (ranks[size_t(i)] == 2)
        std::printf("output %d '%s' (%lld, %lld)\n", i, dirnet_output_name(m, i), static_cast<long long>(s[0]),
                    static_cast<long long>(s[1]));
      else
        std::printf("output %d '%s' (%lld, %lld, %lld, %lld)\n", i, dirnet_output_name(m, i),
                    static_cast<long long>(s[0]), static_cast<long long>(s[1]), static_cast<long long>(s[2]),
                    static_cast<long long>(s[3]));
      if (ranks[size_t(i)] == 2) print_top(outs[size_t(i)].data(), s.data(), a.top, names);
    }
  }
  std::printf("time    load %.2f ms, first run %.3f ms", load_ms, first_ms);
  if (!times.empty())
    std::printf(", median %.3f ms, min %.3f ms over %zu runs", times[times.size() / 2], times.front(), times.size());
  std::printf("\n");
  if (!a.output.empty()) {
    for (int i = 0; i < nout; ++i) {
      const auto& s = oshape[size_t(i)];
      std::vector<int64_t> shp = ranks[size_t(i)] == 2 ? std::vector<int64_t>{s[0], s[1]} : s;
      try {
        dirnet::write_npy_f32(output_path(a.output, i), shp, outs[size_t(i)].data());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "dirnet-run: error: %s\n", e.what());
        dirnet_free(m);
        return 2;
      }
    }
  }
  dirnet_free(m);
  return 0;
}
