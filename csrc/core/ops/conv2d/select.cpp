#include "ops/conv2d/conv2d_kernels.hpp"

namespace dirnet {

const Conv2dKernel& conv2d_kernel(const std::string& path) {
  static const Conv2dKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", conv2d_tile_items, conv2d_avx512},
      {"avx2", conv2d_tile_items, conv2d_avx2},
#endif
#if defined(DIRNET_ARM64)
      {"neon_dot", conv2d_tile_items, conv2d_neon},  // no dot product in fp32
      {"neon", conv2d_tile_items, conv2d_neon},
#endif
      {"portable", conv2d_tile_items, conv2d_portable},
      {"reference", conv2d_reference_items, conv2d_reference},
  };
  return select_kernel(table, path, "conv2d");
}

}  // namespace dirnet
