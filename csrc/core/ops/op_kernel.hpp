// One op's kernel on one path, and the per-op selection by path name.
//
// Every op family (ops/<family>/) has a selector `<family>_kernel(path)`
// that looks the path name up in its own table: the paths are the names of
// dispatch.hpp ("avx512", "avx2", "neon_dot", "neon", "portable",
// "reference"), and an op may use the same kernel on several paths (pool and
// eltwise have one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace dirnet {

template <class Params>
struct OpKernel {
  const char* path;
  // Independent work items of one call (the thread pool splits them; each
  // path chooses its own: register tiles x channel blocks, or pixels).
  int64_t (*items)(const Params&);
  void (*run)(const Params&, int64_t begin, int64_t end);  // items [begin, end)

  void operator()(const Params& p) const { run(p, 0, items(p)); }  // single-threaded call
};

// The entry of `table` named `path`; std::invalid_argument if this build has none.
template <class Params, size_t N>
const OpKernel<Params>& select_kernel(const OpKernel<Params> (&table)[N], const std::string& path,
                                      const char* op) {
  for (const OpKernel<Params>& k : table)
    if (path == k.path) return k;
  throw std::invalid_argument(std::string("dirnet: no ") + op + " kernel for path '" + path +
                              "' in this build");
}

}  // namespace dirnet
