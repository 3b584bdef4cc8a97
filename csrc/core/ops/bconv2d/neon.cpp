// Binary conv, neon path (ARMv8.0 ASIMD: Cortex-A72 / Raspberry Pi 4): EOR,
// CNT, pairwise byte adds and UADALP into 16-bit counters, 3 pixels x 16
// channels per pass (neon_impl.hpp). Built with -march=armv8-a (see
// CMakeLists.txt).
#include "ops/bconv2d/bconv2d_kernels.hpp"

#include <arm_neon.h>

namespace dirnet {
namespace bconv2d_neon_isa {

#include "ops/shared/simd_neon.hpp"

#define DIRNET_BCONV_UDOT 0
constexpr int kNeonM = 3;   // pixels per pass (a 6-pixel tile in two passes)
constexpr int kNeonCh = 16;  // channels per pass: 8 weight + 6 accumulator registers
#include "ops/bconv2d/neon_impl.hpp"
#undef DIRNET_BCONV_UDOT

#include "ops/bconv2d/driver_impl.hpp"

}  // namespace bconv2d_neon_isa

void bconv2d_neon(const BConvParams& p, int64_t begin, int64_t end) {
  bconv2d_neon_isa::bconv_range(p, begin, end);
}

}  // namespace dirnet
