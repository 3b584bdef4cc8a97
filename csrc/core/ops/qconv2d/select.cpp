// The int8 conv kernels of each path. A path has one or more variants, best
// first; the first one this CPU supports is used (VNNI where the CPU has it).
#include <cstdlib>
#include <stdexcept>
#include <string>

#if defined(DIRNET_ARM64)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#include "ops/qconv2d/qconv2d_kernels.hpp"

namespace dirnet {
namespace {

bool always() { return true; }
#if defined(DIRNET_X86)
bool cpu_avx512() {  // what the avx512 path needs (dispatch.cpp)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt");
}
[[maybe_unused]] bool cpu_avx512_vnni() { return cpu_avx512() && __builtin_cpu_supports("avx512vnni"); }
bool cpu_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt");
}
[[maybe_unused]] bool cpu_avx2_vnni() { return cpu_avx2() && __builtin_cpu_supports("avxvnni"); }
#endif
#if defined(DIRNET_ARM64)  // as dispatch.cpp
bool cpu_neon() { return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0; }
bool cpu_neon_dot() { return cpu_neon() && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
#endif

const QConv2dKernel kTable[] = {
#if defined(DIRNET_X86)
#if !defined(DIRNET_NO_AVX512VNNI)
    {"avx512", "avx512_vnni", 1, QW_S8, cpu_avx512_vnni, qconv2d_avx512_items, qconv2d_avx512_quantize8,
     qconv2d_avx512_vnni},
#endif
    {"avx512", "avx512", 2, QW_S16, cpu_avx512, qconv2d_avx512_items, qconv2d_avx512_quantize16, qconv2d_avx512},
#if !defined(DIRNET_NO_AVXVNNI)
    {"avx2", "avx2_vnni", 1, QW_S8, cpu_avx2_vnni, qconv2d_avx2_items, qconv2d_avx2_quantize8, qconv2d_avx2_vnni},
#endif
    {"avx2", "avx2", 2, QW_S16, cpu_avx2, qconv2d_avx2_items, qconv2d_avx2_quantize16, qconv2d_avx2},
#endif
#if defined(DIRNET_ARM64)
    {"neon_dot", "neon_dotprod", -1, QW_S8, cpu_neon_dot, qconv2d_neon_dotprod_items, qconv2d_neon_quantize,
     qconv2d_neon_dotprod},
    {"neon_dot", "neon", -1, QW_S8, cpu_neon, qconv2d_neon_items, qconv2d_neon_quantize, qconv2d_neon},
    {"neon", "neon", -1, QW_S8, cpu_neon, qconv2d_neon_items, qconv2d_neon_quantize, qconv2d_neon},
#endif
    {"portable", "portable", 1, QW_S8, always, qconv2d_portable_items, qconv2d_portable_quantize, qconv2d_portable},
    {"reference", "reference", 0, QW_NONE, always, qconv2d_reference_items, nullptr, qconv2d_reference},
};

}  // namespace

const QConv2dKernel& qconv2d_kernel(const std::string& path) {
  // DIRNET_QCONV_VARIANT=<variant> picks another variant of the path (when the
  // CPU runs it): to time e.g. the vpmaddwd kernels on a VNNI machine.
  const char* want = std::getenv("DIRNET_QCONV_VARIANT");
  if (want && *want)
    for (const QConv2dKernel& k : kTable)
      if (path == k.path && k.variant == std::string(want) && k.supported()) return k;
  for (const QConv2dKernel& k : kTable)
    if (path == k.path && k.supported()) return k;
  throw std::invalid_argument("dirnet: no qconv2d kernel for path '" + path + "' on this CPU/build");
}

const std::vector<const QConv2dKernel*>& qconv2d_variants() {
  static const std::vector<const QConv2dKernel*> all = [] {
    std::vector<const QConv2dKernel*> v;
    for (const QConv2dKernel& k : kTable) {  // a variant listed under two paths once
      bool seen = false;
      for (const QConv2dKernel* e : v) seen = seen || e->run == k.run;
      if (!seen) v.push_back(&k);
    }
    return v;
  }();
  return all;
}

}  // namespace dirnet
