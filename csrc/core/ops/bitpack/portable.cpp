// Sign packing, portable path (the compare masks of ops/shared/simd_portable.hpp).
#include "ops/bitpack/bitpack_kernels.hpp"

namespace dirnet {
namespace bitpack_portable_isa {

#include "ops/shared/simd_portable.hpp"
#include "ops/bitpack/driver_impl.hpp"

}  // namespace bitpack_portable_isa

void bitpack_portable(const PackParams& p, int64_t begin, int64_t end) {
  bitpack_portable_isa::pack_range(p, begin, end);
}

}  // namespace dirnet
