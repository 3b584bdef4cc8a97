#include "ops/conv2d/conv2d_kernels.hpp"

namespace dirnet {

const Conv2dKernel& conv2d_kernel(const std::string& path) {
  static const Conv2dKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", conv2d_tile_items, conv2d_avx512},
      {"avx2", conv2d_tile_items, conv2d_avx2},
#endif
#if defined(DIRNET_ARM64)
      // no NEON kernel yet: both aarch64 paths run the portable one
      {"neon_dot", conv2d_tile_items, conv2d_portable},
      {"neon", conv2d_tile_items, conv2d_portable},
#endif
      {"portable", conv2d_tile_items, conv2d_portable},
      {"reference", conv2d_reference_items, conv2d_reference},
  };
  return select_kernel(table, path, "conv2d");
}

}  // namespace dirnet
