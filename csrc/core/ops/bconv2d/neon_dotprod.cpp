// Binary conv, neon_dot path (ASIMD + dot product, ARMv8.2: Cortex-A76 /
// Raspberry Pi 5): EOR, CNT, one pairwise byte add, then UDOT against a vector
// of ones into 32-bit counters, 3 pixels x 8 channels per pass
// (neon_impl.hpp). Built with -march=armv8.2-a+dotprod (see CMakeLists.txt);
// selected only when the kernel reports HWCAP_ASIMDDP.
#include "ops/bconv2d/bconv2d_kernels.hpp"

#include <arm_neon.h>

namespace dirnet {
namespace bconv2d_neon_dotprod_isa {

#include "ops/shared/simd_neon.hpp"

#define DIRNET_BCONV_UDOT 1
constexpr int kNeonM = 3;   // pixels per pass (a 6-pixel tile in two passes)
constexpr int kNeonCh = 8;  // channels per pass: 4 weight + 6 accumulator registers
#include "ops/bconv2d/neon_impl.hpp"
#undef DIRNET_BCONV_UDOT

#include "ops/bconv2d/driver_impl.hpp"

}  // namespace bconv2d_neon_dotprod_isa

void bconv2d_neon_dot(const BConvParams& p, int64_t begin, int64_t end) {
  bconv2d_neon_dotprod_isa::bconv_range(p, begin, end);
}

}  // namespace dirnet
