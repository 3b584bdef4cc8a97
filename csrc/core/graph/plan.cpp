#include "graph/plan.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "dispatch.hpp"
#include "ops/eltwise/eltwise_kernels.hpp"
#include "ops/pool/pool_kernels.hpp"

namespace dirnet {

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 20;     // any single dimension
constexpr int64_t kMaxElems = int64_t(1) << 36;   // elements of one tensor

[[noreturn]] void fail(const std::string& op, const std::string& msg) {
  throw std::invalid_argument(op.empty() ? msg : "layer '" + op + "': " + msg);
}

void check_geom(const std::string& name, int KH, int KW, const int* s, const int* p, const int* d) {
  if (KH < 1 || KW < 1 || KH > 64 || KW > 64) fail(name, "kernel size must be in [1, 64]");
  if (s[0] < 1 || s[1] < 1 || s[0] > 64 || s[1] > 64) fail(name, "stride must be in [1, 64]");
  if (d[0] < 1 || d[1] < 1 || d[0] > 64 || d[1] > 64) fail(name, "dilation must be in [1, 64]");
  for (int i = 0; i < 4; ++i)
    if (p[i] < 0 || p[i] > 64) fail(name, "padding must be in [0, 64]");
}

int conv_out(int in, int pa, int pb, int k, int s, int d) {
  const int64_t span = int64_t(in) + pa + pb - int64_t(d) * (k - 1) - 1;
  if (span < 0) return 0;
  return int(span / s + 1);
}

int pool_out(int in, int k, int s, int p, int d, bool ceil_mode) {
  const int64_t span = int64_t(in) + 2 * p - int64_t(d) * (k - 1) - 1;
  if (span < 0) return 0;
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= int64_t(in) + p) --o;
  return int(o);
}

template <typename F>
void parallel(ThreadPool& pool, int64_t n, int64_t grain, const F& f) {
  parallel_for(pool, n, grain, f);
}

// Offsets of the runs of consecutive elements a conv window reads: whole
// kernel rows when dilation is 1 (pixels are dense), single taps otherwise.
int window_runs(const Op& op, const Tensor& a, std::vector<int64_t>& off) {
  const int per_pixel = int(a.ps);
  off.clear();
  if (op.dw == 1) {
    for (int ky = 0; ky < op.KH; ++ky) off.push_back(int64_t(ky) * op.dh * a.rs);
    return op.KW * per_pixel;
  }
  for (int ky = 0; ky < op.KH; ++ky)
    for (int kx = 0; kx < op.KW; ++kx) off.push_back(int64_t(ky) * op.dh * a.rs + int64_t(kx) * op.dw * a.ps);
  return per_pixel;
}

}  // namespace

FView Tensor::fview() const {
  FView v;
  v.data = static_cast<float*>(data);
  v.ns = ns; v.rs = rs; v.ps = ps;
  v.N = N; v.H = H; v.W = W; v.C = Cr;
  return v;
}

BView Tensor::bview() const {
  BView v;
  v.data = static_cast<uint64_t*>(data);
  v.ns = ns; v.rs = rs; v.ps = ps;
  v.N = N; v.H = H; v.W = W; v.C = Cr; v.Cw = Cw;
  return v;
}

static int checked_threads(int threads) {
  if (threads < 0 || threads > 1024) throw std::invalid_argument("threads must be in [1, 1024] (0: all CPUs)");
  return threads > 0 ? threads : available_cpus();
}

Plan::Plan(int threads, const std::string& path)
    : path_(path.empty() ? default_path() : find_path(path)),
      bconv_(&bconv2d_kernel(path_)),
      conv_(&conv2d_kernel(path_)),
      pack_(&bitpack_kernel(path_)),
      pool_(checked_threads(threads)) {}

int Plan::add_tensor(int kind, int channels) {
  if (kind != 0 && kind != 1) throw std::invalid_argument("tensor kind must be 0 (f32) or 1 (bits)");
  if (channels != -1 && (channels < 1 || channels > kMaxDim))
    throw std::invalid_argument("tensor channels must be -1 or in [1, 2^20]");
  if (tensors_.size() > 100000) throw std::invalid_argument("too many tensors");
  Tensor t;
  t.kind = TKind(kind);
  t.C = channels;
  tensors_.push_back(t);
  rN_ = -1;
  return int(tensors_.size()) - 1;
}

void Plan::check_tensor(int t, const char* what, const std::string& op) const {
  if (t < 0 || t >= int(tensors_.size())) fail(op, std::string("bad tensor id for ") + what);
}

void Plan::define(int t, int op, const std::string& name) {
  check_tensor(t, "output", name);
  if (tensors_[t].first != -1 || t == input_) fail(name, "output tensor is already defined");
  tensors_[t].first = op;
}

void Plan::set_input(int t, int channels) {
  check_tensor(t, "input", "");
  if (tensors_[t].kind != TKind::F32) throw std::invalid_argument("graph input must be a float tensor");
  if (input_ != -1) throw std::invalid_argument("graph input already set");
  if (channels < 1 || channels > kMaxDim) throw std::invalid_argument("input channels out of range");
  input_ = t;
  in_channels_ = channels;
}

void Plan::set_output(int t) {
  check_tensor(t, "output", "");
  if (tensors_[t].kind != TKind::F32) throw std::invalid_argument("graph output must be a float tensor");
  outputs_.assign(1, t);
  rN_ = -1;
}

void Plan::add_output(int t) {
  check_tensor(t, "output", "");
  if (tensors_[t].kind != TKind::F32) throw std::invalid_argument("graph output must be a float tensor");
  if (outputs_.size() >= 100000) throw std::invalid_argument("too many outputs");
  outputs_.push_back(t);
  rN_ = -1;
}

bool Plan::is_output(int t) const {
  return std::find(outputs_.begin(), outputs_.end(), t) != outputs_.end();
}

static void need_defined(const std::vector<Tensor>& ts, int t, int input, const std::string& name,
                         TKind kind) {
  if (t < 0 || t >= int(ts.size())) fail(name, "bad input tensor id");
  if (t != input && ts[t].first == -1) fail(name, "input tensor is not computed before this op");
  if (ts[t].kind != kind) fail(name, kind == TKind::F32 ? "expects a float input" : "expects a packed input");
}

static void check_epi(const std::string& name, const EpiSpec& ep, size_t C, bool need_ab) {
  if (ep.act < ACT_NONE || ep.act > ACT_PRELU) fail(name, "unknown activation");
  if (need_ab && (ep.A.size() < C || ep.B.size() < C)) fail(name, "scale/shift vectors too short");
  if (!need_ab && !ep.A.empty() && (ep.A.size() < C || ep.B.size() < C))
    fail(name, "scale/shift vectors too short");
  if (ep.act == ACT_PRELU && ep.slope.size() < C) fail(name, "PReLU slope vector too short");
  if (!ep.thr.empty() && ep.thr.size() < C) fail(name, "threshold vector too short");
  if (!ep.T.empty() && (ep.T.size() < C || ep.sgn.size() < C)) fail(name, "integer thresholds too short");
  if (!(ep.lo <= ep.hi)) fail(name, "hardtanh needs min_val <= max_val");
}

// Wiring and geometry shared by the float and the binary convolution ops.
static Op conv_like_op(OpType type, const std::string& name, int in, int res, int out_f, int out_b,
                       int KH, int KW, const int* stride, const int* pads, const int* dil, int C,
                       int OC) {
  Op op;
  op.type = type;
  op.name = name;
  op.in = in; op.in2 = res; op.out_f = out_f; op.out_b = out_b;
  op.KH = KH; op.KW = KW; op.sh = stride[0]; op.sw = stride[1];
  op.pt = pads[0]; op.pl = pads[1]; op.pb = pads[2]; op.pr = pads[3];
  op.dh = dil[0]; op.dw = dil[1];
  op.C = C; op.OC = OC;
  return op;
}

// The kernels read the float epilogue's vectors a whole channel block at a time.
static void pad_float_epilogue(EpiSpec& ep, int OC, size_t ocp) {
  ep.A = padded_copy(ep.A.data(), size_t(OC), ocp);
  ep.B = padded_copy(ep.B.data(), size_t(OC), ocp);
  if (ep.act == ACT_PRELU) ep.slope = padded_copy(ep.slope.data(), size_t(OC), ocp);
  if (!ep.thr.empty()) ep.thr = padded_copy(ep.thr.data(), size_t(OC), ocp);
}

void Plan::define_outputs(const std::string& name, int out_f, int out_b) {
  const int idx = int(ops_.size());
  if (out_f >= 0) {
    define(out_f, idx, name);
    if (tensors_[out_f].kind != TKind::F32) fail(name, "float output must be a float tensor");
  }
  if (out_b >= 0) {
    define(out_b, idx, name);
    if (tensors_[out_b].kind != TKind::BITS) fail(name, "packed output must be a packed tensor");
  }
}

void Plan::push_conv(Op&& op, EpiSpec&& ep) {
  op.ep = std::move(ep);
  Tensor& t = tensors_[op.in];
  t.border = std::max({t.border, op.pt, op.pl, op.pb, op.pr});
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_conv(const std::string& name, int in, int out_f, int out_b, int res, const float* w,
                    int OC, int C, int KH, int KW, const int* stride, const int* pads, const int* dil,
                    EpiSpec ep) {
  check_geom(name, KH, KW, stride, pads, dil);
  if (OC < 1 || C < 1 || OC > kMaxDim || C > kMaxDim) fail(name, "bad channel counts");
  need_defined(tensors_, in, input_, name, TKind::F32);
  if (res >= 0) need_defined(tensors_, res, input_, name, TKind::F32);
  if (out_f < 0 && out_b < 0) fail(name, "op has no output");
  check_epi(name, ep, size_t(OC), true);
  if (!ep.T.empty()) fail(name, "integer thresholds apply to binary convolutions only");
  define_outputs(name, out_f, out_b);
  Op op = conv_like_op(OpType::CONV, name, in, res, out_f, out_b, KH, KW, stride, pads, dil, C, OC);
  op.wf = block_fweights(w, OC, C, KH, KW);
  pad_float_epilogue(ep, OC, size_t(ceil_div(OC, kFBlk)) * kFBlk);
  push_conv(std::move(op), std::move(ep));
}

void Plan::add_qconv(const std::string& name, int in, int out_f, int out_b, int res, const int8_t* w,
                     float in_scale, int OC, int C, int KH, int KW, const int* stride, const int* pads,
                     const int* dil, EpiSpec ep) {
  check_geom(name, KH, KW, stride, pads, dil);
  if (OC < 1 || C < 1 || OC > kMaxDim || C > kMaxDim) fail(name, "bad channel counts");
  need_defined(tensors_, in, input_, name, TKind::F32);
  if (res >= 0) need_defined(tensors_, res, input_, name, TKind::F32);
  if (out_f < 0 && out_b < 0) fail(name, "op has no output");
  check_epi(name, ep, size_t(OC), true);
  if (!ep.T.empty()) fail(name, "integer thresholds apply to binary convolutions only");
  QConvGeometry g;
  g.C = C; g.OC = OC; g.KH = KH; g.KW = KW;
  for (int i = 0; i < 2; ++i) g.stride[i] = stride[i], g.dil[i] = dil[i];
  for (int i = 0; i < 4; ++i) g.pads[i] = pads[i];
  auto q = std::make_shared<QConvOp>(g, w, in_scale, qconv2d_kernel(path_));  // before define: may throw
  define_outputs(name, out_f, out_b);
  Op op = conv_like_op(OpType::QCONV, name, in, res, out_f, out_b, KH, KW, stride, pads, dil, C, OC);
  op.qop = std::move(q);
  pad_float_epilogue(ep, OC, size_t(ceil_div(OC, 64)) * 64);
  op.ep = std::move(ep);  // the quantized copy has its own border: the float input needs none
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_bconv(const std::string& name, int in, int out_f, int out_b, int res, const uint64_t* w,
                     int OC, int C, int Cw, int KH, int KW, const int* stride, const int* pads,
                     const int* dil, bool zero_pad, EpiSpec ep) {
  check_geom(name, KH, KW, stride, pads, dil);
  if (OC < 1 || C < 1 || OC > kMaxDim || C > kMaxDim) fail(name, "bad channel counts");
  if (Cw != words_for(C)) fail(name, "packed weight has the wrong number of words per tap");
  if (int64_t(C) * KH * KW >= (int64_t(1) << 30)) fail(name, "binary kernel too large (C * kh * kw >= 2^30)");
  need_defined(tensors_, in, input_, name, TKind::BITS);
  if (res >= 0) need_defined(tensors_, res, input_, name, TKind::F32);
  if (out_f < 0 && out_b < 0) fail(name, "op has no output");
  const bool thresh = !ep.T.empty();
  check_epi(name, ep, size_t(OC), !thresh);
  if (thresh && (out_f >= 0 || res >= 0 || out_b < 0))
    fail(name, "integer thresholds write a packed output only");
  // Channel-padding bits must be zero, or they would count as disagreements.
  if (C % 64) {
    const uint64_t bad = ~((uint64_t(1) << (C % 64)) - 1);
    for (int64_t i = 0; i < int64_t(OC) * KH * KW; ++i)
      if (w[i * Cw + Cw - 1] & bad) fail(name, "packed weight has non-zero channel-padding bits");
  }
  define_outputs(name, out_f, out_b);
  Op op = conv_like_op(OpType::BCONV, name, in, res, out_f, out_b, KH, KW, stride, pads, dil, C, OC);
  op.zero_pad = zero_pad && (op.pt || op.pl || op.pb || op.pr);
  op.wb = block_bweights(w, OC, KH * KW, Cw);
  if (op.zero_pad) op.tapsum = tap_sums(w, OC, KH * KW, Cw, C);
  const size_t ocp = size_t(ceil_div(OC, kBlk)) * kBlk;
  if (thresh) {
    ep.T = padded_copy(ep.T.data(), size_t(OC), ocp);
    ep.sgn = padded_copy(ep.sgn.data(), size_t(OC), ocp, int32_t(1));
  } else {
    pad_float_epilogue(ep, OC, ocp);
  }
  push_conv(std::move(op), std::move(ep));
}

void Plan::add_pack(const std::string& name, int in, int out, AVec<float> thr) {
  need_defined(tensors_, in, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::BITS) fail(name, "pack writes a packed tensor");
  Op op;
  op.type = OpType::PACK;
  op.name = name;
  op.in = in; op.out_b = out;
  op.ep.thr = std::move(thr);
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_eltwise(const std::string& name, int a, int b, int out, EpiSpec ep) {
  need_defined(tensors_, a, input_, name, TKind::F32);
  if (b >= 0) need_defined(tensors_, b, input_, name, TKind::F32);
  if (ep.act < ACT_NONE || ep.act > ACT_PRELU) fail(name, "unknown activation");
  if (ep.A.size() != ep.B.size()) fail(name, "scale and shift differ in length");
  if (!(ep.lo <= ep.hi)) fail(name, "hardtanh needs min_val <= max_val");
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  Op op;
  op.type = OpType::ELTWISE;
  op.name = name;
  op.in = a; op.in2 = b; op.out_f = out;
  op.C = int(ep.A.size());
  if (ep.act == ACT_PRELU) {
    if (ep.slope.empty()) fail(name, "PReLU needs a slope");
    if (op.C && ep.slope.size() != size_t(op.C) && ep.slope.size() != 1)
      fail(name, "PReLU slope length differs from the channel count");
  }
  op.ep = std::move(ep);
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_maxpool(const std::string& name, int in, int out, const int* k, const int* s,
                       const int* p, const int* d, bool ceil_mode) {
  const int pads[4] = {p[0], p[1], p[0], p[1]};
  check_geom(name, k[0], k[1], s, pads, d);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) fail(name, "pad must be at most half the kernel size");
  need_defined(tensors_, in, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  Op op;
  op.type = OpType::MAXPOOL;
  op.name = name;
  op.in = in; op.out_f = out;
  op.KH = k[0]; op.KW = k[1]; op.sh = s[0]; op.sw = s[1]; op.pt = p[0]; op.pl = p[1];
  op.dh = d[0]; op.dw = d[1]; op.ceil_mode = ceil_mode;
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_avgpool(const std::string& name, int in, int out, const int* k, const int* s,
                       const int* p, bool ceil_mode, bool count_include_pad, int divisor) {
  const int pads[4] = {p[0], p[1], p[0], p[1]};
  const int d[2] = {1, 1};
  check_geom(name, k[0], k[1], s, pads, d);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) fail(name, "pad must be at most half the kernel size");
  if (divisor < 0) fail(name, "divisor_override must be positive");
  need_defined(tensors_, in, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  Op op;
  op.type = OpType::AVGPOOL;
  op.name = name;
  op.in = in; op.out_f = out;
  op.KH = k[0]; op.KW = k[1]; op.sh = s[0]; op.sw = s[1]; op.pt = p[0]; op.pl = p[1];
  op.ceil_mode = ceil_mode; op.count_include_pad = count_include_pad; op.divisor = divisor;
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_adaptive_avg(const std::string& name, int in, int out, int oh, int ow) {
  if (oh < 1 || ow < 1 || oh > kMaxDim || ow > kMaxDim) fail(name, "output size must be positive");
  need_defined(tensors_, in, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  Op op;
  op.type = OpType::ADAPTIVE_AVG;
  op.name = name;
  op.in = in; op.out_f = out; op.oh = oh; op.ow = ow;
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_shortcut_a(const std::string& name, int in, int out, int stride, int before, int after) {
  if (stride < 1 || stride > 64 || before < 0 || after < 0 || before > kMaxDim || after > kMaxDim)
    fail(name, "bad option-A shortcut geometry");
  need_defined(tensors_, in, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  Op op;
  op.type = OpType::SHORTCUT_A;
  op.name = name;
  op.in = in; op.out_f = out; op.sh = stride; op.pad_before = before; op.pad_after = after;
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_flatten(const std::string& name, int in, int out) {
  need_defined(tensors_, in, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  Op op;
  op.type = OpType::FLATTEN;
  op.name = name;
  op.in = in; op.out_f = out;
  ops_.push_back(std::move(op));
  rN_ = -1;
}

void Plan::add_op(const std::string& name, std::shared_ptr<PlanOp> gen, const std::vector<int>& ins, int out) {
  if (!gen) fail(name, "no op");
  if (ins.empty()) fail(name, "op has no input");
  for (int t : ins) need_defined(tensors_, t, input_, name, TKind::F32);
  define(out, int(ops_.size()), name);
  if (tensors_[out].kind != TKind::F32) fail(name, "output must be a float tensor");
  for (size_t k = 0; k < ins.size(); ++k) {
    const int b = gen->input_border(int(k));
    if (b < 0 || b > 64) fail(name, "input border must be in [0, 64]");
    tensors_[ins[k]].border = std::max(tensors_[ins[k]].border, b);
  }
  Op op;
  op.type = OpType::GENERIC;
  op.name = name;
  op.in = ins[0]; op.out_f = out;
  op.gen = std::move(gen);
  op.ins = ins;
  ops_.push_back(std::move(op));
  rN_ = -1;
}

// ---------------------------------------------------------------- resolve

void Plan::resolve(int N, int C, int H, int W) {
  if (rN_ == N && rC_ == C && rH_ == H && rW_ == W) return;
  rN_ = -1;
  if (input_ < 0 || outputs_.empty()) throw std::invalid_argument("plan has no input or output");
  if (N < 1 || H < 1 || W < 1 || N > kMaxDim || H > kMaxDim || W > kMaxDim)
    throw std::invalid_argument("input must have a positive batch and spatial size");
  if (C != in_channels_)
    throw std::invalid_argument("input has " + std::to_string(C) + " channels, the model expects " +
                                std::to_string(in_channels_));
  for (auto& t : tensors_) {
    t.N = 0;
    t.data = t.base = nullptr;
    t.last = -1;
    t.slot = -1;
  }
  auto set = [&](int id, int n, int h, int w, int c, const std::string& name) {
    Tensor& t = tensors_[id];
    if (h < 1 || w < 1) fail(name, "the input is too small for this layer (output would be empty)");
    if (t.C != -1 && t.C != c)
      fail(name, "produces " + std::to_string(c) + " channels where the graph expects " + std::to_string(t.C));
    if (c < 1 || c > kMaxDim * 64) fail(name, "channel count out of range");
    t.N = n; t.H = h; t.W = w; t.Cr = c;
    t.Cw = words_for(c);
    t.ps = t.kind == TKind::F32 ? c : t.Cw;
    t.rs = (int64_t(w) + 2 * t.border) * t.ps;
    t.ns = (int64_t(h) + 2 * t.border) * t.rs;
    if (t.ns > kMaxElems || t.ns * n > kMaxElems) fail(name, "tensor too large");
    t.bytes = size_t(t.ns) * n * (t.kind == TKind::F32 ? 4 : 8);
  };
  auto get = [&](int id, const std::string& name) -> Tensor& {
    Tensor& t = tensors_[id];
    if (t.N == 0) fail(name, "input tensor has no value (graph order)");
    return t;
  };
  set(input_, N, H, W, C, "input");
  tensors_[input_].first = -1;
  for (int i = 0; i < int(ops_.size()); ++i) {
    Op& op = ops_[i];
    const Tensor& a = get(op.in, op.name);
    tensors_[op.in].last = i;
    if (op.in2 >= 0) {
      get(op.in2, op.name);
      tensors_[op.in2].last = i;
    }
    for (int t : op.ins) {
      get(t, op.name);
      tensors_[t].last = i;
    }
    switch (op.type) {
      case OpType::GENERIC: {
        std::vector<Shape4> in;
        for (int t : op.ins) in.push_back(Shape4{tensors_[t].N, tensors_[t].H, tensors_[t].W, tensors_[t].Cr});
        Shape4 o;
        try {
          o = op.gen->output_shape(in);
        } catch (const std::invalid_argument& e) {
          fail(op.name, e.what());
        }
        set(op.out_f, o.N, o.H, o.W, o.C, op.name);
        break;
      }
      case OpType::CONV:
      case OpType::QCONV:
      case OpType::BCONV: {
        if (a.Cr != op.C)
          fail(op.name, "expects " + std::to_string(op.C) + " input channels, got " + std::to_string(a.Cr) +
                            " (check the input size)");
        const int oh = conv_out(a.H, op.pt, op.pb, op.KH, op.sh, op.dh);
        const int ow = conv_out(a.W, op.pl, op.pr, op.KW, op.sw, op.dw);
        if (op.out_f >= 0) set(op.out_f, a.N, oh, ow, op.OC, op.name);
        if (op.out_b >= 0) set(op.out_b, a.N, oh, ow, op.OC, op.name);
        if (op.in2 >= 0) {
          const Tensor& r = tensors_[op.in2];
          if (r.N != a.N || r.H != oh || r.W != ow || r.Cr != op.OC)
            fail(op.name, "residual shape differs from the convolution output");
        }
        break;
      }
      case OpType::PACK:
        set(op.out_b, a.N, a.H, a.W, a.Cr, op.name);
        if (!op.ep.thr.empty() && op.ep.thr.size() != size_t(a.Cr))
          fail(op.name, "threshold length differs from the channel count");
        break;
      case OpType::ELTWISE: {
        if (op.in2 >= 0) {
          const Tensor& b = tensors_[op.in2];
          if (b.N != a.N || b.H != a.H || b.W != a.W || b.Cr != a.Cr)
            fail(op.name, "operands of the addition differ in shape");
        }
        if (op.C && op.C != a.Cr)
          fail(op.name, "expects " + std::to_string(op.C) + " channels, got " + std::to_string(a.Cr));
        if (op.ep.act == ACT_PRELU && op.ep.slope.size() != 1 && op.ep.slope.size() != size_t(a.Cr))
          fail(op.name, "PReLU slope length differs from the channel count");
        set(op.out_f, a.N, a.H, a.W, a.Cr, op.name);
        break;
      }
      case OpType::MAXPOOL:
        set(op.out_f, a.N, pool_out(a.H, op.KH, op.sh, op.pt, op.dh, op.ceil_mode),
            pool_out(a.W, op.KW, op.sw, op.pl, op.dw, op.ceil_mode), a.Cr, op.name);
        break;
      case OpType::AVGPOOL:
        set(op.out_f, a.N, pool_out(a.H, op.KH, op.sh, op.pt, 1, op.ceil_mode),
            pool_out(a.W, op.KW, op.sw, op.pl, 1, op.ceil_mode), a.Cr, op.name);
        break;
      case OpType::ADAPTIVE_AVG:
        set(op.out_f, a.N, op.oh, op.ow, a.Cr, op.name);
        break;
      case OpType::SHORTCUT_A:
        set(op.out_f, a.N, int(ceil_div(a.H, op.sh)), int(ceil_div(a.W, op.sh)),
            a.Cr + op.pad_before + op.pad_after, op.name);
        break;
      case OpType::FLATTEN: {
        const int64_t c = int64_t(a.Cr) * a.H * a.W;
        if (c > kMaxDim * 64) fail(op.name, "flattened size too large");
        set(op.out_f, a.N, 1, 1, int(c), op.name);
        break;
      }
    }
  }
  for (int t : outputs_) get(t, "output").last = INT_MAX;
  // Memory: bordered tensors and the graph input/output get their own zeroed
  // buffers (borders are never written); the rest share buffers by lifetime.
  struct Slot { size_t bytes; int busy_until; bool dedicated; };
  std::vector<Slot> slots;
  std::vector<int> order;
  for (int t = 0; t < int(tensors_.size()); ++t)
    if (tensors_[t].N) order.push_back(t);
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return tensors_[x].first < tensors_[y].first; });
  for (int t : order) {
    Tensor& T = tensors_[t];
    const int last = T.last < 0 ? T.first : T.last;
    const bool dedicated = T.border > 0 || t == input_ || is_output(t);
    int best = -1;
    if (!dedicated) {
      for (int s = 0; s < int(slots.size()); ++s) {
        if (slots[s].dedicated || slots[s].busy_until >= T.first) continue;
        if (best < 0 || (slots[s].bytes >= T.bytes) > (slots[best].bytes >= T.bytes) ||
            ((slots[s].bytes >= T.bytes) == (slots[best].bytes >= T.bytes) &&
             (slots[s].bytes >= T.bytes ? slots[s].bytes < slots[best].bytes : slots[s].bytes > slots[best].bytes)))
          best = s;
      }
    }
    if (best < 0) {
      slots.push_back(Slot{T.bytes, last, dedicated});
      best = int(slots.size()) - 1;
    } else {
      slots[best].bytes = std::max(slots[best].bytes, T.bytes);
      slots[best].busy_until = last;
    }
    T.slot = best;
  }
  size_t total = 0;
  for (const Slot& s : slots) total += s.bytes;
  if (total > max_bytes_)
    throw std::invalid_argument("this input shape needs " + std::to_string(total >> 20) +
                                " MiB of activation buffers, more than the limit of " +
                                std::to_string(max_bytes_ >> 20) + " MiB");
  slots_.clear();
  slots_.resize(slots.size());
  for (size_t s = 0; s < slots.size(); ++s) slots_[s].assign(slots[s].bytes, 0);
  for (int t : order) {
    Tensor& T = tensors_[t];
    T.base = slots_[T.slot].data();
    const size_t el = T.kind == TKind::F32 ? 4 : 8;
    T.data = static_cast<unsigned char*>(T.base) + (size_t(T.border) * T.rs + size_t(T.border) * T.ps) * el;
  }
  // Kernel parameters.
  for (Op& op : ops_) {
    const Tensor& a = tensors_[op.in];
    auto fill_epi = [&](Epilogue& e, int kind) {
      e = Epilogue();
      e.kind = kind;
      e.OC = op.OC;
      e.A = op.ep.A.empty() ? nullptr : op.ep.A.data();
      e.B = op.ep.B.empty() ? nullptr : op.ep.B.data();
      if (op.in2 >= 0) e.res = tensors_[op.in2].fview();
      e.act = op.ep.act; e.lo = op.ep.lo; e.hi = op.ep.hi;
      e.slope = op.ep.slope.empty() ? nullptr : op.ep.slope.data();
      if (op.out_f >= 0) e.out_f = tensors_[op.out_f].fview();
      if (op.out_b >= 0) e.out_b = tensors_[op.out_b].bview();
      e.pack_thr = op.ep.thr.empty() ? nullptr : op.ep.thr.data();
      e.T = op.ep.T.empty() ? nullptr : op.ep.T.data();
      e.sgn = op.ep.sgn.empty() ? nullptr : op.ep.sgn.data();
    };
    if (op.type == OpType::BCONV) {
      const Tensor& o = tensors_[op.out_f >= 0 ? op.out_f : op.out_b];
      const int rlen = window_runs(op, a, op.tap_off);
      BConvParams& p = op.bp;
      p = BConvParams();
      p.in = a.bview();
      p.OH = o.H; p.OW = o.W; p.OC = op.OC; p.OCB = int(ceil_div(op.OC, kBlk));
      p.KH = op.KH; p.KW = op.KW; p.sh = op.sh; p.sw = op.sw; p.pt = op.pt; p.pl = op.pl;
      p.dh = op.dh; p.dw = op.dw;
      p.ntaps = int(op.tap_off.size());
      p.rlen = rlen;
      p.tap_off = op.tap_off.data();
      p.w = op.wb.data();
      p.Kbits = op.C * op.KH * op.KW;
      p.tapsum = op.zero_pad ? op.tapsum.data() : nullptr;
      fill_epi(p.ep, op.ep.T.empty() ? EP_FLOAT : EP_THRESH);
    } else if (op.type == OpType::CONV) {
      const Tensor& o = tensors_[op.out_f >= 0 ? op.out_f : op.out_b];
      const int rlen = window_runs(op, a, op.tap_off);
      ConvParams& p = op.cp;
      p = ConvParams();
      p.in = a.fview();
      p.OH = o.H; p.OW = o.W; p.OC = op.OC; p.OCB = int(ceil_div(op.OC, kFBlk));
      p.KH = op.KH; p.KW = op.KW; p.sh = op.sh; p.sw = op.sw; p.pt = op.pt; p.pl = op.pl;
      p.dh = op.dh; p.dw = op.dw;
      p.ntaps = int(op.tap_off.size());
      p.rlen = rlen;
      p.tap_off = op.tap_off.data();
      p.w = op.wf.data();
      fill_epi(p.ep, EP_FLOAT);
    } else if (op.type == OpType::QCONV) {
      const Tensor& o = tensors_[op.out_f >= 0 ? op.out_f : op.out_b];
      Epilogue e;
      fill_epi(e, EP_FLOAT);
      op.qop->prepare(a.fview(), o.H, o.W, e);
    } else if (op.type == OpType::PACK) {
      op.pp.in = a.fview();
      op.pp.out = tensors_[op.out_b].bview();
      op.pp.thr = op.ep.thr.empty() ? nullptr : op.ep.thr.data();
    } else if (op.type == OpType::GENERIC) {
      op.in_views.clear();
      for (int t : op.ins) op.in_views.push_back(tensors_[t].fview());
      op.out_view = tensors_[op.out_f].fview();
      op.gen->prepare(op.in_views, op.out_view, path_);
    }
  }
  rN_ = N; rC_ = C; rH_ = H; rW_ = W;
}

std::vector<int64_t> Plan::output_shape(int N, int C, int H, int W) { return output_shape(0, N, C, H, W); }

std::vector<int64_t> Plan::output_shape(int i, int N, int C, int H, int W) {
  std::lock_guard<std::mutex> lk(mu_);
  resolve(N, C, H, W);
  if (i < 0 || i >= int(outputs_.size())) throw std::invalid_argument("no output " + std::to_string(i));
  const Tensor& o = tensors_[outputs_[i]];
  return {o.N, o.Cr, o.H, o.W};
}

std::vector<std::vector<int64_t>> Plan::output_shapes(int N, int C, int H, int W) {
  std::lock_guard<std::mutex> lk(mu_);
  resolve(N, C, H, W);
  std::vector<std::vector<int64_t>> shapes;
  for (int t : outputs_) {
    const Tensor& o = tensors_[t];
    shapes.push_back({o.N, o.Cr, o.H, o.W});
  }
  return shapes;
}

// ---------------------------------------------------------------- execution

void Plan::run_input(const float* x) {
  const Tensor& t = tensors_[input_];
  const int H = t.H, W = t.W, C = t.Cr;
  float* dst = static_cast<float*>(t.data);
  parallel(pool_, int64_t(t.N) * H, 16, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / H, y = r % H;
      float* d = dst + n * t.ns + y * t.rs;
      for (int c = 0; c < C; ++c) {
        const float* s = x + ((n * C + c) * H + y) * W;
        for (int xx = 0; xx < W; ++xx) d[int64_t(xx) * t.ps + c] = s[xx];
      }
    }
  });
}

void Plan::copy_output(int id, float* out) const {
  const Tensor& t = tensors_[id];
  const float* src = static_cast<const float*>(t.data);
  const int64_t H = t.H, W = t.W, C = t.Cr;
  for (int64_t n = 0; n < t.N; ++n)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const float* s = src + n * t.ns + y * t.rs + x * t.ps;
        for (int64_t c = 0; c < C; ++c) out[((n * C + c) * H + y) * W + x] = s[c];
      }
}

void Plan::run_op(Op& op) {
  switch (op.type) {
    case OpType::BCONV: {
      const auto run = bconv_->run;
      const BConvParams* p = &op.bp;
      parallel(pool_, bconv_->items(op.bp), 1, [run, p](int64_t b, int64_t e) { run(*p, b, e); });
      return;
    }
    case OpType::CONV: {
      const auto run = conv_->run;
      const ConvParams* p = &op.cp;
      parallel(pool_, conv_->items(op.cp), 1, [run, p](int64_t b, int64_t e) { run(*p, b, e); });
      return;
    }
    case OpType::PACK: {
      const auto run = pack_->run;
      const PackParams* p = &op.pp;
      parallel(pool_, pack_->items(op.pp), 64, [run, p](int64_t b, int64_t e) { run(*p, b, e); });
      return;
    }
    case OpType::GENERIC:
      op.gen->run(op.in_views, op.out_view, pool_);
      return;
    case OpType::QCONV:
      op.qop->run(&pool_);
      return;
    default: break;
  }
  const Tensor& a = tensors_[op.in];
  const Tensor& o = tensors_[op.out_f];
  const float* ad = static_cast<const float*>(a.data);
  float* od = static_cast<float*>(o.data);
  const int64_t rows = int64_t(o.N) * o.H;
  const int64_t grain = std::max<int64_t>(1, 4096 / (int64_t(o.W) * o.Cr + 1));
  switch (op.type) {
    case OpType::ELTWISE: {
      const Tensor* b = op.in2 >= 0 ? &tensors_[op.in2] : nullptr;
      const float* bd = b ? static_cast<const float*>(b->data) : nullptr;
      const float* A = op.ep.A.empty() ? nullptr : op.ep.A.data();
      const float* B = op.ep.B.empty() ? nullptr : op.ep.B.data();
      const float* sl = op.ep.slope.empty() ? nullptr : op.ep.slope.data();
      const bool sl1 = op.ep.slope.size() == 1;
      parallel(pool_, rows, grain, [&](int64_t rb, int64_t re) {
        for (int64_t r = rb; r < re; ++r) {
          const int64_t n = r / o.H, y = r % o.H;
          eltwise_row(od + n * o.ns + y * o.rs, ad + n * a.ns + y * a.rs,
                      bd ? bd + n * b->ns + y * b->rs : nullptr, A, B, o.W, o.Cr, op.ep.act, op.ep.lo,
                      op.ep.hi, sl, sl1);
        }
      });
      return;
    }
    case OpType::MAXPOOL: {
      parallel(pool_, rows, grain, [&](int64_t rb, int64_t re) {
        const float* in_rows[64];  // kernel height is at most 64
        for (int64_t r = rb; r < re; ++r) {
          const int64_t n = r / o.H, oy = r % o.H;
          for (int ky = 0; ky < op.KH; ++ky) {
            const int64_t iy = oy * op.sh - op.pt + int64_t(ky) * op.dh;
            in_rows[ky] = (iy < 0 || iy >= a.H) ? nullptr : ad + n * a.ns + iy * a.rs;
          }
          maxpool_row(od + n * o.ns + oy * o.rs, in_rows, op.KH, op.KW, o.W, a.W, op.sw, op.pl, op.dw, o.Cr);
        }
      });
      return;
    }
    case OpType::AVGPOOL: {
      parallel(pool_, rows, grain, [&](int64_t rb, int64_t re) {
        std::vector<const float*> src(size_t(op.KH) * op.KW);
        for (int64_t r = rb; r < re; ++r) {
          const int64_t n = r / o.H, oy = r % o.H;
          for (int64_t ox = 0; ox < o.W; ++ox) {
            int64_t hs = oy * op.sh - op.pt, ws = ox * op.sw - op.pl;
            int64_t he = std::min<int64_t>(hs + op.KH, a.H + op.pt);
            int64_t we = std::min<int64_t>(ws + op.KW, a.W + op.pl);
            const int64_t pool_size = (he - hs) * (we - ws);
            hs = std::max<int64_t>(hs, 0); ws = std::max<int64_t>(ws, 0);
            he = std::min<int64_t>(he, a.H); we = std::min<int64_t>(we, a.W);
            int cnt = 0;
            for (int64_t iy = hs; iy < he; ++iy)
              for (int64_t ix = ws; ix < we; ++ix) src[cnt++] = ad + n * a.ns + iy * a.rs + ix * a.ps;
            int64_t div = op.divisor ? op.divisor : op.count_include_pad ? pool_size : (he - hs) * (we - ws);
            if (div <= 0) div = 1;
            mean_pixels(od + n * o.ns + oy * o.rs + ox * o.ps, src.data(), cnt, o.Cr, float(div));
          }
        }
      });
      return;
    }
    case OpType::ADAPTIVE_AVG: {
      parallel(pool_, rows, grain, [&](int64_t rb, int64_t re) {
        std::vector<const float*> src;
        for (int64_t r = rb; r < re; ++r) {
          const int64_t n = r / o.H, oy = r % o.H;
          const int64_t hs = oy * a.H / o.H, he = ((oy + 1) * a.H + o.H - 1) / o.H;
          for (int64_t ox = 0; ox < o.W; ++ox) {
            const int64_t ws = ox * a.W / o.W, we = ((ox + 1) * a.W + o.W - 1) / o.W;
            src.clear();
            for (int64_t iy = hs; iy < he; ++iy)
              for (int64_t ix = ws; ix < we; ++ix) src.push_back(ad + n * a.ns + iy * a.rs + ix * a.ps);
            mean_pixels(od + n * o.ns + oy * o.rs + ox * o.ps, src.data(), int(src.size()), o.Cr,
                        float((he - hs) * (we - ws)));
          }
        }
      });
      return;
    }
    case OpType::SHORTCUT_A: {
      parallel(pool_, rows, grain, [&](int64_t rb, int64_t re) {
        for (int64_t r = rb; r < re; ++r) {
          const int64_t n = r / o.H, y = r % o.H;
          for (int64_t x = 0; x < o.W; ++x) {
            float* po = od + n * o.ns + y * o.rs + x * o.ps;
            const float* pa = ad + n * a.ns + y * op.sh * a.rs + x * op.sh * a.ps;
            std::memset(po, 0, sizeof(float) * op.pad_before);
            std::memcpy(po + op.pad_before, pa, sizeof(float) * a.Cr);
            std::memset(po + op.pad_before + a.Cr, 0, sizeof(float) * op.pad_after);
          }
        }
      });
      return;
    }
    case OpType::FLATTEN: {
      for (int64_t n = 0; n < a.N; ++n) {
        float* po = od + n * o.ns;
        for (int64_t y = 0; y < a.H; ++y)
          for (int64_t x = 0; x < a.W; ++x) {
            const float* pa = ad + n * a.ns + y * a.rs + x * a.ps;
            for (int64_t c = 0; c < a.Cr; ++c) po[(c * a.H + y) * a.W + x] = pa[c];
          }
      }
      return;
    }
    default: return;
  }
}

void Plan::run(const float* x, int N, int C, int H, int W, const std::vector<float*>& outs) {
  std::lock_guard<std::mutex> lk(mu_);
  if (outs.size() != outputs_.size())
    throw std::invalid_argument("run: the plan has " + std::to_string(outputs_.size()) + " outputs, got " +
                                std::to_string(outs.size()) + " buffers");
  resolve(N, C, H, W);
  run_input(x);
  for (Op& op : ops_) run_op(op);
  for (size_t i = 0; i < outs.size(); ++i) copy_output(outputs_[i], outs[i]);
}

void Plan::run(const float* x, int N, int C, int H, int W, float* out) {
  run(x, N, C, H, W, std::vector<float*>{out});
}

std::vector<double> Plan::profile(const float* x, int N, int C, int H, int W, int reps) {
  std::lock_guard<std::mutex> lk(mu_);
  resolve(N, C, H, W);
  if (reps < 1) reps = 1;
  std::vector<std::vector<double>> t(ops_.size() + 1, std::vector<double>(reps));
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run_input(x);
    auto t1 = std::chrono::steady_clock::now();
    t[0][r] = std::chrono::duration<double>(t1 - t0).count();
    for (size_t i = 0; i < ops_.size(); ++i) {
      t0 = std::chrono::steady_clock::now();
      run_op(ops_[i]);
      t1 = std::chrono::steady_clock::now();
      t[i + 1][r] = std::chrono::duration<double>(t1 - t0).count();
    }
  }
  std::vector<double> med;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    med.push_back(v[v.size() / 2]);
  }
  return med;
}

std::vector<std::string> Plan::op_names() const {
  std::vector<std::string> names{"<input>"};
  for (const Op& op : ops_) names.push_back(op.name);
  return names;
}

std::string Plan::describe() const {
  static const char* names[] = {"conv", "bconv", "pack", "eltwise", "maxpool", "avgpool",
                                "adaptive_avg", "shortcut_a", "flatten", "op", "qconv"};
  std::ostringstream s;
  s << "Plan(path=" << path_ << ", threads=" << pool_.size() << ")\n";
  for (const Op& op : ops_) {
    s << "  " << names[int(op.type)] << " " << op.name << ": in=" << op.in;
    if (op.in2 >= 0) s << " in2=" << op.in2;
    if (op.out_f >= 0) s << " out_f=" << op.out_f;
    if (op.out_b >= 0) s << " out_b=" << op.out_b;
    if (op.type == OpType::BCONV) s << (op.ep.T.empty() ? " [float epilogue]" : " [threshold epilogue]");
    s << "\n";
  }
  return s.str();
}

}  // namespace dirnet
