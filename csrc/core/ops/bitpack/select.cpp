#include "ops/bitpack/bitpack_kernels.hpp"

namespace dirnet {

const BitpackKernel& bitpack_kernel(const std::string& path) {
  static const BitpackKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", bitpack_items, bitpack_avx512},
      {"avx2", bitpack_items, bitpack_avx2},
#endif
#if defined(DIRNET_ARM64)
      {"neon_dot", bitpack_items, bitpack_neon},  // no dot product in packing
      {"neon", bitpack_items, bitpack_neon},
#endif
      {"portable", bitpack_items, bitpack_portable},
      {"reference", bitpack_items, bitpack_reference},
  };
  return select_kernel(table, path, "bitpack");
}

}  // namespace dirnet
