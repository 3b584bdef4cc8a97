#include "ops/gconv2d/gconv2d_kernels.hpp"

namespace dirnet {

const GConv2dKernel& gconv2d_kernel(const std::string& path) {
  static const GConv2dKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", gconv2d_rows, gconv2d_avx512},
      {"avx2", gconv2d_rows, gconv2d_avx2},
#endif
#if defined(DIRNET_ARM64)
      {"neon_dot", gconv2d_rows, gconv2d_neon},  // no dot product in fp32
      {"neon", gconv2d_rows, gconv2d_neon},
#endif
      {"portable", gconv2d_rows, gconv2d_portable},
      {"reference", gconv2d_rows, gconv2d_reference},
  };
  return select_kernel(table, path, "gconv2d");
}

}  // namespace dirnet
