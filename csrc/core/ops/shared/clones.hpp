// The memory-bound row ops (pool, eltwise) have one plain implementation,
// which is also their reference. GCC clones it per instruction set
// (target_clones, picked at load time by the CPU): every channel is computed
// by the same scalar formula, so the result does not depend on the clone.
#pragma once

#if defined(DIRNET_X86) && defined(__GNUC__) && !defined(__clang__) && !defined(DIRNET_NO_CLONES)
#define DIRNET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DIRNET_CLONES
#endif
