// The native inference graph: tensors, ops and their resolved kernel
// parameters. Built once at load time (Python adds the ops in topological
// order), resolved again only when the input shape changes, executed with one
// call per inference.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common.hpp"
#include "graph/plan_op.hpp"
#include "graph/prep.hpp"
#include "ops/bconv2d/bconv2d_kernels.hpp"
#include "ops/bitpack/bitpack_kernels.hpp"
#include "ops/conv2d/conv2d_kernels.hpp"
#include "ops/qconv2d/qconv2d_op.hpp"
#include "threadpool.hpp"

namespace dirnet {

enum class TKind : int { F32 = 0, BITS = 1 };

struct Tensor {
  TKind kind = TKind::F32;
  int C = -1;       // channels fixed by the graph (-1: known only after resolve)
  int border = 0;   // pixels of padding kept around the interior
  // resolved
  int N = 0, H = 0, W = 0, Cr = 0, Cw = 0;
  int64_t ps = 0, rs = 0, ns = 0;
  size_t bytes = 0;
  int first = -1, last = -1;  // op indices that define / last read it
  int slot = -1;
  void* base = nullptr;       // start of the allocation (border included)
  void* data = nullptr;       // interior origin
  FView fview() const;
  BView bview() const;
};

enum class OpType : int { CONV, BCONV, PACK, ELTWISE, MAXPOOL, AVGPOOL, ADAPTIVE_AVG, SHORTCUT_A, FLATTEN, GENERIC, QCONV };

struct EpiSpec {  // epilogue settings given at build time
  int act = ACT_NONE;
  float lo = -1.f, hi = 1.f;
  AVec<float> A, B, slope, thr;
  AVec<int32_t> T, sgn;  // integer thresholds (binary conv -> packed output)
};

struct Op {
  OpType type;
  std::string name;
  int in = -1, in2 = -1, out_f = -1, out_b = -1;
  // geometry
  int KH = 1, KW = 1, sh = 1, sw = 1, pt = 0, pl = 0, pb = 0, pr = 0, dh = 1, dw = 1;
  bool ceil_mode = false, count_include_pad = true;
  int divisor = 0, oh = 1, ow = 1, pad_before = 0, pad_after = 0;
  int C = 0, OC = 0;
  bool zero_pad = false;
  // parameters
  AVec<uint64_t> wb;   // binary weights, blocked
  AVec<float> wf;      // fp32 weights, blocked
  AVec<int32_t> tapsum;
  EpiSpec ep;
  // resolved
  std::vector<int64_t> tap_off;
  BConvParams bp;
  ConvParams cp;
  PackParams pp;
  // GENERIC: an op family behind the PlanOp interface, reading `ins` (in = ins[0])
  std::shared_ptr<PlanOp> gen;
  std::vector<int> ins;
  std::vector<FView> in_views;  // resolved
  FView out_view;
  // QCONV: the int8 convolution (weights, quantized input buffer, kernel)
  std::shared_ptr<QConvOp> qop;
};

class Plan {
 public:
  Plan(int threads, const std::string& path);

  int add_tensor(int kind, int channels);
  void set_input(int t, int channels);
  // Graph outputs, in order (a model may return several values). set_output
  // makes `t` the only output; add_output appends one (the same tensor may
  // be listed twice).
  void set_output(int t);
  void add_output(int t);
  int num_outputs() const { return int(outputs_.size()); }

  void add_conv(const std::string& name, int in, int out_f, int out_b, int res, const float* w, int OC,
                int C, int KH, int KW, const int* stride, const int* pads, const int* dil, EpiSpec ep);
  void add_bconv(const std::string& name, int in, int out_f, int out_b, int res, const uint64_t* w,
                 int OC, int C, int Cw, int KH, int KW, const int* stride, const int* pads,
                 const int* dil, bool zero_pad, EpiSpec ep);
  // int8 conv / linear (ops/qconv2d): w int8 [OC][C][KH][KW], in_scale s_x;
  // ep.A already holds the dequantization s_x * s_w[oc] (times the BN scale).
  void add_qconv(const std::string& name, int in, int out_f, int out_b, int res, const int8_t* w, float in_scale,
                 int OC, int C, int KH, int KW, const int* stride, const int* pads, const int* dil, EpiSpec ep);
  void add_pack(const std::string& name, int in, int out, AVec<float> thr);
  void add_eltwise(const std::string& name, int a, int b, int out, EpiSpec ep);
  void add_maxpool(const std::string& name, int in, int out, const int* k, const int* s, const int* p,
                   const int* d, bool ceil_mode);
  void add_avgpool(const std::string& name, int in, int out, const int* k, const int* s, const int* p,
                   bool ceil_mode, bool count_include_pad, int divisor);
  void add_adaptive_avg(const std::string& name, int in, int out, int oh, int ow);
  void add_shortcut_a(const std::string& name, int in, int out, int stride, int before, int after);
  void add_flatten(const std::string& name, int in, int out);
  // Any op family implementing PlanOp (graph/plan_op.hpp): float inputs `ins`
  // (at least one), one float output.
  void add_op(const std::string& name, std::shared_ptr<PlanOp> op, const std::vector<int>& ins, int out);

  // Shape (N, C, H, W) of output i (output_shape(N, C, H, W): output 0) for
  // an NCHW input of this shape; throws std::invalid_argument naming the op
  // when the graph cannot take it.
  std::vector<int64_t> output_shape(int N, int C, int H, int W);
  std::vector<int64_t> output_shape(int i, int N, int C, int H, int W);
  std::vector<std::vector<int64_t>> output_shapes(int N, int C, int H, int W);
  // x: NCHW float32 contiguous; outs[i]: NCHW float32 of output_shape(i).
  void run(const float* x, int N, int C, int H, int W, const std::vector<float*>& outs);
  void run(const float* x, int N, int C, int H, int W, float* out);  // single-output plans
  // Per-op wall time (seconds, median of `reps` runs).
  std::vector<double> profile(const float* x, int N, int C, int H, int W, int reps);

  std::vector<std::string> op_names() const;
  std::string path() const { return path_; }
  int threads() const { return pool_.size(); }
  std::string describe() const;
  // Upper bound on the activation buffers one input shape may need (a hostile
  // graph must fail with an error, not exhaust memory). Default 8 GiB.
  void set_max_bytes(size_t b) { max_bytes_ = b; rN_ = -1; }

 private:
  void check_tensor(int t, const char* what, const std::string& op) const;
  void define(int t, int op, const std::string& name);
  void define_outputs(const std::string& name, int out_f, int out_b);
  void push_conv(Op&& op, EpiSpec&& ep);
  void resolve(int N, int C, int H, int W);
  void run_op(Op& op);
  void run_input(const float* x);
  void copy_output(int t, float* out) const;
  bool is_output(int t) const;

  const char* path_;            // kernel path (dispatch.hpp)
  const BConv2dKernel* bconv_;  // that path's kernel of each op family
  const Conv2dKernel* conv_;
  const BitpackKernel* pack_;
  ThreadPool pool_;
  std::mutex mu_;
  std::vector<Tensor> tensors_;
  std::vector<Op> ops_;
  std::vector<AVec<unsigned char>> slots_;
  int input_ = -1, in_channels_ = 0;
  std::vector<int> outputs_;  // tensor ids, in the model's output order
  int rN_ = -1, rC_ = -1, rH_ = -1, rW_ = -1;  // resolved input shape
  const float* x_ = nullptr;
  size_t max_bytes_ = size_t(8) << 30;
};

}  // namespace dirnet
