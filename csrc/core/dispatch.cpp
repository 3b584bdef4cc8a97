#include "dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#if defined(DIRNET_ARM64)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

namespace dirnet {
namespace {

#if defined(DIRNET_ARM64)
// ASIMD (NEON) is part of ARMv8-A Linux targets; the dot-product
// instructions (UDOT/SDOT, ARMv8.2 optional, e.g. Cortex-A55/A76: Pi 5, not
// the Pi 4's Cortex-A72) are reported by the kernel in AT_HWCAP.
bool has_neon() { return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0; }
bool has_neon_dot() { return has_neon() && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
#endif

bool has_avx512() {
#if defined(DIRNET_X86)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt");
#else
  return false;
#endif
}

bool has_avx2() {
#if defined(DIRNET_X86)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("popcnt");
#else
  return false;
#endif
}

bool has_portable() {
#if defined(DIRNET_X86)
  __builtin_cpu_init();
  return __builtin_cpu_supports("popcnt");
#else
  return true;
#endif
}

// Every path name, best first (supported or not on this CPU/build): the x86-64
// ones, then the aarch64 ones, then those of every CPU.
const char* const kAllPaths[] = {"avx512", "avx2", "neon_dot", "neon", "portable", "reference"};

bool path_supported(const std::string& name) {
#if defined(DIRNET_X86)
  if (name == "avx512") return has_avx512();
  if (name == "avx2") return has_avx2();
#endif
#if defined(DIRNET_ARM64)
  if (name == "neon_dot") return has_neon_dot();
  if (name == "neon") return has_neon();
#endif
  if (name == "portable") return has_portable();
  return name == "reference";  // plain C++: every CPU
}

const char* initial_path() {
  const char* env = std::getenv("DIRNET_KERNEL");
  if (env && *env) return find_path(env);  // a bad value surfaces at import as ImportError
  return find_path(supported_paths().front());
}

std::atomic<const char*>& current() {
  static std::atomic<const char*> k{initial_path()};
  return k;
}

}  // namespace

std::vector<std::string> supported_paths() {
  std::vector<std::string> out;
  for (const char* name : kAllPaths)
    if (path_supported(name)) out.push_back(name);
  return out;
}

const char* find_path(const std::string& name) {
  std::string avail, all;
  for (const auto& s : supported_paths()) avail += (avail.empty() ? "" : ", ") + s;
  for (const char* s : kAllPaths) all += (all.empty() ? "" : ", ") + std::string(s);
  for (const char* known : kAllPaths) {
    if (name != known) continue;
    if (!path_supported(name))
      throw std::invalid_argument("dirnet: kernel path '" + name +
                                  "' is not supported by this CPU/build (supported: " + avail + ")");
    return known;
  }
  throw std::invalid_argument("dirnet: unknown kernel path '" + name + "' (DIRNET_KERNEL must be one of " + all +
                              "; this CPU supports " + avail + ")");
}

const char* default_path() { return current().load(); }

void set_default_path(const std::string& name) { current().store(find_path(name)); }

std::string cpu_features() {
  std::string s;
#if defined(DIRNET_X86)
  __builtin_cpu_init();
  const char* names[] = {"popcnt", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                         "avx512vpopcntdq"};
  for (const char* n : names) {
    bool on = false;
    if (std::string(n) == "popcnt") on = __builtin_cpu_supports("popcnt");
    else if (std::string(n) == "avx2") on = __builtin_cpu_supports("avx2");
    else if (std::string(n) == "fma") on = __builtin_cpu_supports("fma");
    else if (std::string(n) == "avx512f") on = __builtin_cpu_supports("avx512f");
    else if (std::string(n) == "avx512bw") on = __builtin_cpu_supports("avx512bw");
    else if (std::string(n) == "avx512vl") on = __builtin_cpu_supports("avx512vl");
    else if (std::string(n) == "avx512dq") on = __builtin_cpu_supports("avx512dq");
    else on = __builtin_cpu_supports("avx512vpopcntdq");
    if (on) s += (s.empty() ? "" : " ") + std::string(n);
  }
#elif defined(DIRNET_ARM64)
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & HWCAP_ASIMD) s = "asimd";
  if (hw & HWCAP_ASIMDDP) s += (s.empty() ? "" : " ") + std::string("asimddp");
  if (s.empty()) s = "generic";
#else
  s = "generic";
#endif
  return s;
}

}  // namespace dirnet
