// Kernel-path selection: the best path this CPU supports, or the one named by
// the DIRNET_KERNEL environment variable. Paths, best first:
//   avx512     x86-64: AVX-512 F/BW/VL/DQ + VPOPCNTDQ
//   avx2       x86-64: AVX2 + FMA + POPCNT
//   neon_dot   aarch64: ASIMD + dot product (getauxval(AT_HWCAP) & HWCAP_ASIMDDP;
//              Cortex-A76 / Pi 5), files *dotprod*.cpp (-march=armv8.2-a+dotprod)
//   neon       aarch64: baseline ASIMD (Cortex-A72 / Pi 4), files *neon*.cpp
//              (-march=armv8-a)
//   portable   POPCNT on x86-64; any CPU elsewhere
//   reference  plain loops from the definitions, any CPU (tests; slow)
// A path is a name: each op family picks its kernel for it
// (ops/<family>/<family>_kernels.hpp, e.g. bconv2d_kernel(path)). Every
// family's select.cpp has an entry for every path of its build, so every
// supported name works for every op: on aarch64 a family without a
// dot-product kernel maps neon_dot to its neon kernel, and one without a
// NEON kernel maps both to its portable kernel.
#pragma once

#include <string>
#include <vector>

namespace dirnet {

std::vector<std::string> supported_paths();           // best first, "reference" last
// The path's name as a static string; std::invalid_argument (listing the valid
// names and what this CPU supports) for an unknown or unsupported one.
const char* find_path(const std::string& name);
const char* default_path();
void set_default_path(const std::string& name);       // throws std::invalid_argument
std::string cpu_features();                           // for benchmark reports

}  // namespace dirnet
