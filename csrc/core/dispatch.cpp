#include "dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace dirnet {
namespace {

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

const Kernels* initial_path() {
  const char* env = std::getenv("DIRNET_KERNEL");
  if (env && *env) return find_path(env);  // a bad value surfaces at import as ImportError
  const auto paths = supported_paths();
  if (paths.empty())
    throw std::runtime_error("dirnet: this CPU lacks POPCNT, which every kernel path needs");
  return find_path(paths.front());
}

std::atomic<const Kernels*>& current() {
  static std::atomic<const Kernels*> k{initial_path()};
  return k;
}

}  // namespace

std::vector<std::string> supported_paths() {
  std::vector<std::string> out;
#if defined(DIRNET_X86)
  if (has_avx512()) out.push_back("avx512");
  if (has_avx2()) out.push_back("avx2");
#endif
  if (has_portable()) out.push_back("portable");
  return out;
}

const Kernels* find_path(const std::string& name) {
  const auto ok = supported_paths();
  bool supported = false;
  for (const auto& s : ok) supported = supported || s == name;
  std::string avail;
  for (const auto& s : ok) avail += (avail.empty() ? "" : ", ") + s;
  if (name != "avx512" && name != "avx2" && name != "portable")
    throw std::invalid_argument("dirnet: unknown kernel path '" + name +
                                "' (DIRNET_KERNEL must be one of avx512, avx2, portable; this CPU supports " +
                                avail + ")");
  if (!supported)
    throw std::invalid_argument("dirnet: kernel path '" + name + "' is not supported by this CPU/build (supported: " +
                                avail + ")");
#if defined(DIRNET_X86)
  if (name == "avx512") return &kAvx512;
  if (name == "avx2") return &kAvx2;
#endif
  return &kPortable;
}

const Kernels* default_path() { return current().load(); }

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
#else
  s = "generic";
#endif
  return s;
}

}  // namespace dirnet
