// Kernel-path selection: the best path this CPU supports, or the one named by
// the DIRNET_KERNEL environment variable. Paths, best first:
//   avx512     AVX-512 F/BW/VL/DQ + VPOPCNTDQ
//   avx2       AVX2 + FMA + POPCNT
//   portable   POPCNT (any CPU elsewhere)
//   reference  plain loops from the definitions, any CPU (tests; slow)
// A path is a name: each op family picks its kernel for it
// (ops/<family>/<family>_kernels.hpp, e.g. bconv2d_kernel(path)).
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
