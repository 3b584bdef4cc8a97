#include "ops/bconv2d/bconv2d_kernels.hpp"

namespace dirnet {

const BConv2dKernel& bconv2d_kernel(const std::string& path) {
  static const BConv2dKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", bconv2d_tile_items, bconv2d_avx512},
      {"avx2", bconv2d_tile_items, bconv2d_avx2},
#endif
#if defined(DIRNET_ARM64)
      {"neon_dot", bconv2d_tile_items, bconv2d_neon_dot},
      {"neon", bconv2d_tile_items, bconv2d_neon},
#endif
      {"portable", bconv2d_tile_items, bconv2d_portable},
      {"reference", bconv2d_reference_items, bconv2d_reference},
  };
  return select_kernel(table, path, "bconv2d");
}

}  // namespace dirnet
