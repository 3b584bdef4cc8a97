#include "ops/unary/unary_kernels.hpp"

namespace dirnet {

const UnaryKernel& unary_kernel(const std::string& path) {
  static const UnaryKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", unary_rows, unary_avx512},
      {"avx2", unary_rows, unary_avx2},
#endif
#if defined(DIRNET_ARM64)
      {"neon_dot", unary_rows, unary_neon},  // no dot product here
      {"neon", unary_rows, unary_neon},
#endif
      // scalar std::exp: no portable vector exp worth its code on the baseline ISA
      {"portable", unary_rows, unary_reference},
      {"reference", unary_rows, unary_reference},
  };
  return select_kernel(table, path, "unary");
}

}  // namespace dirnet
