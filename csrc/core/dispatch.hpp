// Kernel-path selection: the best path this CPU supports, or the one named by
// the DIRNET_KERNEL environment variable (avx512 | avx2 | portable).
#pragma once

#include <string>
#include <vector>

#include "common.hpp"

namespace dirnet {

std::vector<std::string> supported_paths();           // best first
const Kernels* find_path(const std::string& name);    // throws std::invalid_argument
const Kernels* default_path();
void set_default_path(const std::string& name);       // throws std::invalid_argument
std::string cpu_features();                           // for benchmark reports

}  // namespace dirnet
