// The compile-time shape of a fused float epilogue (activation, residual,
// float output, packed output) and the one place that maps an Epilogue's
// runtime fields onto it. Included inside an ISA namespace (see
// basics_impl.hpp) by the kernels that instantiate their epilogue per shape.
#pragma once

#include <type_traits>

template <int ACT, bool RES, bool OUTF, bool OUTB>
struct EpiCfg {
  static constexpr int act = ACT;
  static constexpr bool res = RES, outf = OUTF, outb = OUTB;
};

template <class F>
__attribute__((always_inline)) inline void with_bool(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

// Calls f(EpiCfg<act, res, outf, outb>{}) for the float epilogue `ep`.
template <class F>
__attribute__((always_inline)) inline void with_epi_cfg(const Epilogue& ep, F&& f) {
  auto shape = [&](auto act) {
    with_bool(ep.res.data != nullptr, [&](auto res) {
      with_bool(ep.out_f.data != nullptr, [&](auto outf) {
        with_bool(ep.out_b.data != nullptr, [&](auto outb) {
          f(EpiCfg<decltype(act)::value, decltype(res)::value, decltype(outf)::value, decltype(outb)::value>{});
        });
      });
    });
  };
  switch (ep.act) {
    case ACT_HARDTANH: return shape(std::integral_constant<int, ACT_HARDTANH>{});
    case ACT_RELU: return shape(std::integral_constant<int, ACT_RELU>{});
    case ACT_PRELU: return shape(std::integral_constant<int, ACT_PRELU>{});
    default: return shape(std::integral_constant<int, ACT_NONE>{});
  }
}
