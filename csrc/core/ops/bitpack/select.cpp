#include "ops/bitpack/bitpack_kernels.hpp"

namespace dirnet {

const BitpackKernel& bitpack_kernel(const std::string& path) {
  static const BitpackKernel table[] = {
#if defined(DIRNET_X86)
      {"avx512", bitpack_items, bitpack_avx512},
      {"avx2", bitpack_items, bitpack_avx2},
#endif
      {"portable", bitpack_items, bitpack_portable},
      {"reference", bitpack_items, bitpack_reference},
  };
  return select_kernel(table, path, "bitpack");
}

}  // namespace dirnet
