// Sign packing, avx512 path (the compare masks of ops/shared/simd_avx512.hpp).
#include "ops/bitpack/bitpack_kernels.hpp"

#include <immintrin.h>

namespace dirnet {
namespace bitpack_avx512_isa {

#include "ops/shared/simd_avx512.hpp"
#include "ops/bitpack/driver_impl.hpp"

}  // namespace bitpack_avx512_isa

void bitpack_avx512(const PackParams& p, int64_t begin, int64_t end) {
  bitpack_avx512_isa::pack_range(p, begin, end);
}

}  // namespace dirnet
