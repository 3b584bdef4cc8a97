// Python bindings of the native kernels: `dirnet._kernels`.
//
// Takes numpy arrays only (no torch ABI), so one build serves every torch
// version. Long calls release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "common.hpp"
#include "dispatch.hpp"
#include "graph/plan.hpp"
#include "graph/prep.hpp"
#include "model.hpp"
#include "planner/op_handler.hpp"
#include "planner/thresholds.hpp"
#include "ops/bconv2d/bconv2d_kernels.hpp"
#include "ops/bitpack/bitpack_kernels.hpp"
#include "threadpool.hpp"

namespace py = pybind11;
using namespace dirnet;

namespace {

using FArr = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IArr = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using UArr = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;

template <typename T>
AVec<T> to_vec(const py::object& o, const char* what) {
  AVec<T> out;
  if (o.is_none()) return out;
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(o);
  if (!a) throw py::type_error(std::string(what) + " must be a numeric array");
  if (a.ndim() != 1) throw py::value_error(std::string(what) + " must be 1-D");
  out.assign(a.data(), a.data() + a.size());
  return out;
}

std::vector<int> ints(const std::vector<int>& v, size_t n, const char* what) {
  if (v.size() != n) throw py::value_error(std::string(what) + " must have " + std::to_string(n) + " values");
  return v;
}

EpiSpec make_epi(int act, float lo, float hi, const py::object& A, const py::object& B,
                 const py::object& slope, const py::object& thr, const py::object& T,
                 const py::object& sgn) {
  EpiSpec e;
  e.act = act; e.lo = lo; e.hi = hi;
  e.A = to_vec<float>(A, "A");
  e.B = to_vec<float>(B, "B");
  e.slope = to_vec<float>(slope, "slope");
  e.thr = to_vec<float>(thr, "thr");
  e.T = to_vec<int32_t>(T, "T");
  e.sgn = to_vec<int32_t>(sgn, "sgn");
  if (!e.sgn.empty())
    for (int32_t s : e.sgn)
      if (s != 1 && s != -1) throw py::value_error("sgn values must be +1 or -1");
  return e;
}

// The kernel path of a test call: `path`, or the default one when empty.
std::string pick(const std::string& path) { return path.empty() ? default_path() : find_path(path); }

// Packs an NHWC float array into words along channels, with a zero (+1) border.
py::array_t<uint64_t> pack(FArr x, py::object thr, int border, const std::string& path) {
  if (x.ndim() != 4) throw py::value_error("pack expects an NHWC array");
  if (border < 0 || border > 64) throw py::value_error("border must be in [0, 64]");
  const int N = int(x.shape(0)), H = int(x.shape(1)), W = int(x.shape(2)), C = int(x.shape(3));
  if (C < 1) throw py::value_error("pack needs at least one channel");
  AVec<float> t = to_vec<float>(thr, "thr");
  if (!t.empty() && t.size() != size_t(C)) throw py::value_error("thr must have one value per channel");
  const int Cw = words_for(C);
  py::array_t<uint64_t> out({N, H + 2 * border, W + 2 * border, Cw});
  std::fill(out.mutable_data(), out.mutable_data() + out.size(), uint64_t(0));
  PackParams p;
  p.in.data = const_cast<float*>(x.data());
  p.in.N = N; p.in.H = H; p.in.W = W; p.in.C = C;
  p.in.ps = C; p.in.rs = int64_t(W) * C; p.in.ns = int64_t(H) * W * C;
  p.out.data = out.mutable_data() + (int64_t(border) * (W + 2 * border) + border) * Cw;
  p.out.N = N; p.out.H = H; p.out.W = W; p.out.C = C; p.out.Cw = Cw;
  p.out.ps = Cw; p.out.rs = int64_t(W + 2 * border) * Cw; p.out.ns = int64_t(H + 2 * border) * p.out.rs;
  p.thr = t.empty() ? nullptr : t.data();
  const BitpackKernel& kernel = bitpack_kernel(pick(path));
  {
    py::gil_scoped_release nogil;
    kernel(p);
  }
  return out;
}

// Raw integer result of a binary convolution (tests): NHWC packed input
// without border, packed weight [OC][KH][KW][Cw]; returns int32 NHWC dots.
py::array_t<int32_t> bconv2d(UArr x, UArr w, int C, std::vector<int> stride, std::vector<int> pads,
                             std::vector<int> dil, float pad_value, int threads, const std::string& path) {
  if (x.ndim() != 4 || w.ndim() != 4) throw py::value_error("bconv2d expects 4-D input and weight");
  stride = ints(stride, 2, "stride");
  pads = ints(pads, 4, "pads (top, left, bottom, right)");
  dil = ints(dil, 2, "dilation");
  if (pad_value != 0.f && pad_value != 1.f) throw py::value_error("pad_value must be 0 or 1");
  const int N = int(x.shape(0)), H = int(x.shape(1)), W = int(x.shape(2)), Cw = int(x.shape(3));
  const int OC = int(w.shape(0)), KH = int(w.shape(1)), KW = int(w.shape(2));
  if (Cw != words_for(C) || w.shape(3) != Cw) throw py::value_error("word count does not match C");
  if (KH < 1 || KW < 1 || OC < 1 || N < 1 || H < 1 || W < 1) throw py::value_error("empty operand");
  for (int s : stride) if (s < 1) throw py::value_error("stride must be >= 1");
  for (int d : dil) if (d < 1) throw py::value_error("dilation must be >= 1");
  int b = 0;
  for (int p : pads) {
    if (p < 0 || p > 64) throw py::value_error("padding must be in [0, 64]");
    b = std::max(b, p);
  }
  const int OH = int((int64_t(H) + pads[0] + pads[2] - int64_t(dil[0]) * (KH - 1) - 1) / stride[0] + 1);
  const int OW = int((int64_t(W) + pads[1] + pads[3] - int64_t(dil[1]) * (KW - 1) - 1) / stride[1] + 1);
  if (int64_t(H) + pads[0] + pads[2] < int64_t(dil[0]) * (KH - 1) + 1 ||
      int64_t(W) + pads[1] + pads[3] < int64_t(dil[1]) * (KW - 1) + 1)
    throw py::value_error("input smaller than the kernel");
  const int64_t Wp = W + 2 * b, Hp = H + 2 * b;
  AVec<uint64_t> xin(size_t(N) * Hp * Wp * Cw, 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t xx = 0; xx < W; ++xx)
        for (int64_t c = 0; c < Cw; ++c)
          xin[((n * Hp + y + b) * Wp + xx + b) * Cw + c] = x.data()[((n * H + y) * W + xx) * Cw + c];
  const int ntaps = KH * KW;
  AVec<uint64_t> wb = block_bweights(w.data(), OC, ntaps, Cw);
  AVec<int32_t> ts;
  if (pad_value == 0.f) ts = tap_sums(w.data(), OC, ntaps, Cw, C);
  // one run per kernel row when dilation is 1 (see BConvParams), else one per tap
  std::vector<int64_t> off;
  int rlen = Cw;
  if (dil[1] == 1) {
    for (int ky = 0; ky < KH; ++ky) off.push_back(int64_t(ky) * dil[0] * Wp * Cw);
    rlen = KW * Cw;
  } else {
    for (int ky = 0; ky < KH; ++ky)
      for (int kx = 0; kx < KW; ++kx) off.push_back((int64_t(ky) * dil[0] * Wp + int64_t(kx) * dil[1]) * Cw);
  }
  py::array_t<int32_t> out({N, OH, OW, OC});
  BConvParams p;
  p.in.data = xin.data() + (int64_t(b) * Wp + b) * Cw;
  p.in.N = N; p.in.H = H; p.in.W = W; p.in.C = C; p.in.Cw = Cw;
  p.in.ps = Cw; p.in.rs = Wp * Cw; p.in.ns = Hp * Wp * Cw;
  p.OH = OH; p.OW = OW; p.OC = OC; p.OCB = int(ceil_div(OC, kBlk));
  p.KH = KH; p.KW = KW; p.sh = stride[0]; p.sw = stride[1]; p.pt = pads[0]; p.pl = pads[1];
  p.dh = dil[0]; p.dw = dil[1];
  p.ntaps = int(off.size()); p.rlen = rlen; p.tap_off = off.data(); p.w = wb.data(); p.Kbits = C * ntaps;
  p.tapsum = ts.empty() ? nullptr : ts.data();
  p.ep.kind = EP_INT;
  p.ep.OC = OC;
  p.ep.out_i.data = out.mutable_data();
  p.ep.out_i.ps = OC; p.ep.out_i.rs = int64_t(OW) * OC; p.ep.out_i.ns = int64_t(OH) * OW * OC;
  const BConv2dKernel& kernel = bconv2d_kernel(pick(path));
  {
    py::gil_scoped_release nogil;
    ThreadPool pool(threads > 0 && threads <= 64 ? threads : 1);
    struct Ctx { const BConv2dKernel* k; const BConvParams* p; } ctx{&kernel, &p};
    pool.run(kernel.items(p), [](const void* c, int64_t b0, int64_t e0) {
      const Ctx* cx = static_cast<const Ctx*>(c);
      cx->k->run(*cx->p, b0, e0);
    }, &ctx, 1);
  }
  return out;
}

void check_input_array(const py::array& x) {
  if (!py::isinstance<py::array_t<float>>(x) || x.dtype().kind() != 'f' || x.itemsize() != 4)
    throw py::type_error("input must be a float32 array, got dtype " + std::string(py::str(x.dtype())));
  if (x.ndim() != 4) throw py::value_error("input must be 4-D (N, C, H, W), got " + std::to_string(x.ndim()) + "-D");
  if (!(x.flags() & py::array::c_style)) throw py::value_error("input must be C-contiguous");
  for (int i = 0; i < 4; ++i)
    if (x.shape(i) < 1 || x.shape(i) > (1 << 20)) throw py::value_error("input dimensions must be in [1, 2^20]");
}


// ---------------------------------------------------------------- Model

// FormatError -> dirnet.deploy.fileformat.FormatError (a ValueError), IoError ->
// FileNotFoundError / OSError; the rest keeps pybind11's mapping
// (std::invalid_argument -> ValueError, std::bad_alloc -> MemoryError).
void translate_errors(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const FormatError& e) {
    py::object cls = py::module_::import("dirnet.deploy.fileformat").attr("FormatError");
    PyErr_SetString(cls.ptr(), e.what());
  } catch (const IoError& e) {
    const bool missing = std::string(e.what()).rfind("no such", 0) == 0;
    PyErr_SetString(missing ? PyExc_FileNotFoundError : PyExc_OSError, e.what());
  }
}

std::unique_ptr<Model> load_model(const py::object& source, int threads, const std::string& path,
                                  size_t max_bytes) {
  ModelOptions opt;
  opt.threads = threads;
  opt.kernel_path = path;
  opt.max_bytes = max_bytes;
  if (py::isinstance<py::bytes>(source) || py::isinstance<py::bytearray>(source) ||
      py::isinstance<py::memoryview>(source)) {
    py::buffer_info b = py::buffer(source).request();
    const void* data = b.ptr;
    const size_t size = size_t(b.size * b.itemsize);
    py::gil_scoped_release nogil;
    return Model::load_memory(data, size, opt);
  }
  const std::string file = py::str(py::module_::import("os").attr("fspath")(source));
  py::gil_scoped_release nogil;
  return Model::load_file(file, opt);
}

// Shape of output i as Python sees it: (N, F) for rank-2 outputs, else NCHW.
std::vector<int64_t> python_shape(const Model& m, size_t i, const std::array<int64_t, 4>& s) {
  if (m.outputs()[i].rank == 2) return {s[0], s[1]};
  return {s[0], s[1], s[2], s[3]};
}

py::list run_model(Model& m, const py::array& x) {
  check_input_array(x);
  const int N = int(x.shape(0)), C = int(x.shape(1)), H = int(x.shape(2)), W = int(x.shape(3));
  const auto shapes = m.output_shapes(N, C, H, W);
  std::vector<py::array_t<float>> outs;
  std::vector<float*> ptrs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    outs.emplace_back(python_shape(m, i, shapes[i]));
    ptrs.push_back(outs.back().mutable_data());
  }
  const float* xd = static_cast<const float*>(x.data());
  {
    py::gil_scoped_release nogil;
    m.run(xd, N, C, H, W, ptrs);
  }
  py::list result;
  for (auto& o : outs) result.append(o);
  return result;
}

void bind_model(py::module_& m) {
  py::register_exception_translator(&translate_errors);
  m.def("known_ops", &known_ops, "The file ops the native planner reads, as its messages list them.");
  m.def("integer_thresholds",
        [](FArr A, FArr B, int64_t kbits, int act, float lo, float hi, py::object thr, py::object slope) -> py::object {
          const int OC = int(A.size());
          if (A.ndim() != 1 || B.ndim() != 1 || B.size() != A.size()) throw py::value_error("A and B must be 1-D, equal length");
          if (kbits < 1 || kbits >= (int64_t(1) << 24)) throw py::value_error("kbits must be in [1, 2^24)");
          const AVec<float> t = to_vec<float>(thr, "thr"), s = to_vec<float>(slope, "slope");
          if ((!t.empty() && t.size() != size_t(OC)) || (!s.empty() && s.size() != size_t(OC)))
            throw py::value_error("thr and slope need one value per channel");
          IntThresholds out;
          if (!integer_thresholds(A.data(), B.data(), OC, kbits, act, lo, hi, t.empty() ? nullptr : t.data(),
                                  s.empty() ? nullptr : s.data(), out))
            return py::none();
          return py::make_tuple(py::array_t<int32_t>(OC, out.T.data()), py::array_t<int32_t>(OC, out.sgn.data()));
        },
        py::arg("A"), py::arg("B"), py::arg("kbits"), py::arg("act") = 0, py::arg("lo") = -1.f, py::arg("hi") = 1.f,
        py::arg("thr") = py::none(), py::arg("slope") = py::none(),
        "(T, sgn) int32 with bit(dot) = sgn * dot < T for every dot in [-kbits, kbits] (the planner's BN + sign "
        "folding, planner/thresholds.hpp), or None when the bit is not monotone in dot.");
  py::class_<Model>(m, "Model", "A .dbnn model planned by the native core (loader + planner + kernels).")
      .def_static("load", &load_model, py::arg("source"), py::arg("threads") = 0, py::arg("path") = "",
                  py::arg("max_bytes") = 0,
                  "Load a .dbnn file (a path, or its bytes). threads 0: all CPUs; path '': the default kernels; "
                  "max_bytes 0: the default activation memory limit (8 GiB).")
      .def("run", &run_model, py::arg("x"),
           "Run the graph on an NCHW float32 array: one array per output ((N, F) for rank-2 outputs).")
      .def("output_shapes",
           [](Model& self, std::vector<int> s) {
             if (s.size() != 4) throw py::value_error("the input shape must be (N, C, H, W)");
             const auto shapes = self.output_shapes(s[0], s[1], s[2], s[3]);
             std::vector<std::vector<int64_t>> out;
             for (size_t i = 0; i < shapes.size(); ++i) out.push_back(python_shape(self, i, shapes[i]));
             return out;
           },
           py::arg("input_shape"))
      .def("profile",
           [](Model& self, py::array x, int reps) {
             check_input_array(x);
             const int N = int(x.shape(0)), C = int(x.shape(1)), H = int(x.shape(2)), W = int(x.shape(3));
             const float* xd = static_cast<const float*>(x.data());
             py::gil_scoped_release nogil;
             return self.plan().profile(xd, N, C, H, W, reps);
           },
           py::arg("x"), py::arg("reps") = 10, "Median seconds per op (first entry: input layout).")
      .def("op_names", [](Model& self) { return self.plan().op_names(); })
      .def_property_readonly("describe", &Model::describe_ops, "The planner's op list, one line per native op.")
      .def_property_readonly("header_json", &Model::header_json)
      .def_property_readonly("threads", &Model::threads)
      .def("set_threads", &Model::set_threads, py::arg("threads"))
      .def_property_readonly("path", &Model::kernel_path)
      .def_property_readonly("input_channels", &Model::input_channels)
      .def_property_readonly("size_hint", &Model::size_hint)
      .def_property_readonly("outputs",
                             [](const Model& self) {
                               py::list out;
                               for (const auto& o : self.outputs()) out.append(py::make_tuple(o.name, o.rank));
                               return out;
                             },
                             "(name, rank) of each output, in order.")
      .def("__repr__", [](Model& self) { return self.plan().describe(); });
}

}  // namespace

PYBIND11_MODULE(_kernels, m) {
  m.doc() = "dirnet native XNOR-popcount kernels and graph runtime (no torch linkage)";
  try {
    default_path();  // validates DIRNET_KERNEL now: a bad value is an ImportError
  } catch (const std::exception& e) {
    throw py::import_error(e.what());
  }
  m.def("paths", &supported_paths, "Kernel paths this CPU supports, best first ('reference' last).");
  m.def("path", [] { return std::string(default_path()); }, "The default kernel path.");
  m.def("set_path", &set_default_path, py::arg("name"),
        "Force the default kernel path for new plans and test calls.");
  m.def("cpu_features", &cpu_features);
  m.def("available_cpus", &available_cpus);
  m.def("pack", &pack, py::arg("x"), py::arg("thr") = py::none(), py::arg("border") = 0,
        py::arg("path") = "", "Pack NHWC float32 signs (bit 1 = negative) into uint64 words.");
  m.def("bconv2d", &bconv2d, py::arg("x"), py::arg("w"), py::arg("in_channels"), py::arg("stride"),
        py::arg("pads"), py::arg("dilation"), py::arg("pad_value") = 1.f, py::arg("threads") = 1,
        py::arg("path") = "", "Integer dot products of a binary convolution (NHWC).");

  py::class_<Plan>(m, "Plan")
      .def(py::init<int, const std::string&>(), py::arg("threads") = 0, py::arg("path") = "")
      .def("add_tensor", &Plan::add_tensor, py::arg("kind"), py::arg("channels"))
      .def("set_input", &Plan::set_input, py::arg("tensor"), py::arg("channels"))
      .def("set_output", &Plan::set_output)
      .def("add_conv",
           [](Plan& p, const std::string& name, int in, int out_f, int out_b, int res, FArr w,
              std::vector<int> stride, std::vector<int> pads, std::vector<int> dil, py::object A,
              py::object B, int act, float lo, float hi, py::object slope, py::object thr) {
             if (w.ndim() != 4) throw py::value_error("conv weight must be 4-D (OC, C, KH, KW)");
             stride = ints(stride, 2, "stride");
             pads = ints(pads, 4, "pads");
             dil = ints(dil, 2, "dilation");
             EpiSpec e = make_epi(act, lo, hi, A, B, slope, thr, py::none(), py::none());
             p.add_conv(name, in, out_f, out_b, res, w.data(), int(w.shape(0)), int(w.shape(1)),
                        int(w.shape(2)), int(w.shape(3)), stride.data(), pads.data(), dil.data(),
                        std::move(e));
           },
           py::arg("name"), py::arg("input"), py::arg("out_f"), py::arg("out_b"), py::arg("residual"),
           py::arg("weight"), py::arg("stride"), py::arg("pads"), py::arg("dilation"), py::arg("A"),
           py::arg("B"), py::arg("act") = 0, py::arg("lo") = -1.f, py::arg("hi") = 1.f,
           py::arg("slope") = py::none(), py::arg("thr") = py::none())
      .def("add_bconv",
           [](Plan& p, const std::string& name, int in, int out_f, int out_b, int res, UArr w, int C,
              std::vector<int> stride, std::vector<int> pads, std::vector<int> dil, bool zero_pad,
              py::object A, py::object B, int act, float lo, float hi, py::object slope, py::object thr,
              py::object T, py::object sgn) {
             if (w.ndim() != 4) throw py::value_error("binary weight must be 4-D (OC, KH, KW, words)");
             stride = ints(stride, 2, "stride");
             pads = ints(pads, 4, "pads");
             dil = ints(dil, 2, "dilation");
             EpiSpec e = make_epi(act, lo, hi, A, B, slope, thr, T, sgn);
             p.add_bconv(name, in, out_f, out_b, res, w.data(), int(w.shape(0)), C, int(w.shape(3)),
                         int(w.shape(1)), int(w.shape(2)), stride.data(), pads.data(), dil.data(),
                         zero_pad, std::move(e));
           },
           py::arg("name"), py::arg("input"), py::arg("out_f"), py::arg("out_b"), py::arg("residual"),
           py::arg("weight"), py::arg("in_channels"), py::arg("stride"), py::arg("pads"),
           py::arg("dilation"), py::arg("zero_pad"), py::arg("A") = py::none(), py::arg("B") = py::none(),
           py::arg("act") = 0, py::arg("lo") = -1.f, py::arg("hi") = 1.f, py::arg("slope") = py::none(),
           py::arg("thr") = py::none(), py::arg("T") = py::none(), py::arg("sgn") = py::none())
      .def("add_pack",
           [](Plan& p, const std::string& name, int in, int out, py::object thr) {
             p.add_pack(name, in, out, to_vec<float>(thr, "thr"));
           },
           py::arg("name"), py::arg("input"), py::arg("out"), py::arg("thr") = py::none())
      .def("add_eltwise",
           [](Plan& p, const std::string& name, int a, int b, int out, py::object A, py::object B, int act,
              float lo, float hi, py::object slope) {
             EpiSpec e = make_epi(act, lo, hi, A, B, slope, py::none(), py::none(), py::none());
             p.add_eltwise(name, a, b, out, std::move(e));
           },
           py::arg("name"), py::arg("a"), py::arg("b"), py::arg("out"), py::arg("A") = py::none(),
           py::arg("B") = py::none(), py::arg("act") = 0, py::arg("lo") = -1.f, py::arg("hi") = 1.f,
           py::arg("slope") = py::none())
      .def("add_maxpool",
           [](Plan& p, const std::string& name, int in, int out, std::vector<int> k, std::vector<int> s,
              std::vector<int> pad, std::vector<int> d, bool ceil_mode) {
             k = ints(k, 2, "kernel_size"); s = ints(s, 2, "stride");
             pad = ints(pad, 2, "padding"); d = ints(d, 2, "dilation");
             p.add_maxpool(name, in, out, k.data(), s.data(), pad.data(), d.data(), ceil_mode);
           },
           py::arg("name"), py::arg("input"), py::arg("out"), py::arg("kernel"), py::arg("stride"),
           py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"))
      .def("add_avgpool",
           [](Plan& p, const std::string& name, int in, int out, std::vector<int> k, std::vector<int> s,
              std::vector<int> pad, bool ceil_mode, bool cip, int divisor) {
             k = ints(k, 2, "kernel_size"); s = ints(s, 2, "stride"); pad = ints(pad, 2, "padding");
             p.add_avgpool(name, in, out, k.data(), s.data(), pad.data(), ceil_mode, cip, divisor);
           },
           py::arg("name"), py::arg("input"), py::arg("out"), py::arg("kernel"), py::arg("stride"),
           py::arg("padding"), py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("divisor") = 0)
      .def("add_adaptive_avg", &Plan::add_adaptive_avg, py::arg("name"), py::arg("input"), py::arg("out"),
           py::arg("oh"), py::arg("ow"))
      .def("add_shortcut_a", &Plan::add_shortcut_a, py::arg("name"), py::arg("input"), py::arg("out"),
           py::arg("stride"), py::arg("pad_before"), py::arg("pad_after"))
      .def("add_flatten", &Plan::add_flatten, py::arg("name"), py::arg("input"), py::arg("out"))
      .def("output_shape", [](Plan& p, int N, int C, int H, int W) { return p.output_shape(N, C, H, W); })
      .def("run",
           [](Plan& p, py::array x) {
             check_input_array(x);
             const int N = int(x.shape(0)), C = int(x.shape(1)), H = int(x.shape(2)), W = int(x.shape(3));
             const auto s = p.output_shape(N, C, H, W);
             py::array_t<float> out({s[0], s[1], s[2], s[3]});
             const float* xd = static_cast<const float*>(x.data());
             float* od = out.mutable_data();
             {
               py::gil_scoped_release nogil;
               p.run(xd, N, C, H, W, od);
             }
             return out;
           },
           py::arg("x"), "Run the whole graph on an NCHW float32 array; returns NCHW float32.")
      .def("profile",
           [](Plan& p, py::array x, int reps) {
             check_input_array(x);
             const int N = int(x.shape(0)), C = int(x.shape(1)), H = int(x.shape(2)), W = int(x.shape(3));
             const float* xd = static_cast<const float*>(x.data());
             std::vector<double> t;
             {
               py::gil_scoped_release nogil;
               t = p.profile(xd, N, C, H, W, reps);
             }
             return t;
           },
           py::arg("x"), py::arg("reps") = 10, "Median seconds per op (first entry: input layout).")
      .def("set_max_bytes", &Plan::set_max_bytes, py::arg("bytes"))
      .def("op_names", &Plan::op_names)
      .def_property_readonly("path", &Plan::path)
      .def_property_readonly("threads", &Plan::threads)
      .def("__repr__", &Plan::describe);

  bind_model(m);
}
