// Sign packing, neon path (the compare masks of ops/shared/simd_neon.hpp);
// also the neon_dot path's (nothing to gain from the dot product here).
#include "ops/bitpack/bitpack_kernels.hpp"

#include <arm_neon.h>

namespace dirnet {
namespace bitpack_neon_isa {

#include "ops/shared/simd_neon.hpp"
#include "ops/bitpack/driver_impl.hpp"

}  // namespace bitpack_neon_isa

void bitpack_neon(const PackParams& p, int64_t begin, int64_t end) {
  bitpack_neon_isa::pack_range(p, begin, end);
}

}  // namespace dirnet
