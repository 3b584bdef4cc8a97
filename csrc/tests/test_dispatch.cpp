// Kernel-path selection: every path the CPU supports can be chosen by name
// and has a kernel in every op family, and an unknown name is an error that
// lists the supported ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "dispatch.hpp"
#include "ops/bconv2d/bconv2d_kernels.hpp"
#include "ops/bitpack/bitpack_kernels.hpp"
#include "ops/conv2d/conv2d_kernels.hpp"
#include "ops/gconv2d/gconv2d_kernels.hpp"
#include "ops/unary/unary_kernels.hpp"

TEST_CASE("the supported paths can be selected by name") {
  const auto paths = dirnet::supported_paths();
  REQUIRE(!paths.empty());
  CHECK(paths.back() == "reference");  // plain C++: every CPU
  for (const auto& p : paths) CHECK(std::string(dirnet::find_path(p)) == p);
}

TEST_CASE("an unknown path is refused with the supported list") {
  try {
    dirnet::find_path("sse9");
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("portable") != std::string::npos);
  }
}

// make test-arm64 runs ctest under qemu with a given CPU model and names the
// paths that CPU must offer, so the NEON kernels are really reached there.
TEST_CASE("the supported paths are those the test run expects (DIRNET_EXPECT_PATHS)") {
  const char* want = std::getenv("DIRNET_EXPECT_PATHS");
  if (!want || !*want) return;
  std::string got;
  for (const auto& p : dirnet::supported_paths()) got += (got.empty() ? "" : ",") + p;
  CHECK(got == std::string(want));
}

TEST_CASE("every op family has a kernel for every supported path") {
  for (const auto& p : dirnet::supported_paths()) {
    INFO("path " << p);
    CHECK(std::string(dirnet::bconv2d_kernel(p).path) == p);
    CHECK(std::string(dirnet::bitpack_kernel(p).path) == p);
    CHECK(std::string(dirnet::conv2d_kernel(p).path) == p);
    CHECK(std::string(dirnet::gconv2d_kernel(p).path) == p);
    CHECK(std::string(dirnet::unary_kernel(p).path) == p);
  }
}

TEST_CASE("cpu_features names the instruction-set flags of this CPU") {
  const std::string f = dirnet::cpu_features();
  CHECK(!f.empty());
#if defined(DIRNET_ARM64)
  const auto paths = dirnet::supported_paths();
  const bool dot = std::find(paths.begin(), paths.end(), "neon_dot") != paths.end();
  CHECK((f.find("asimddp") != std::string::npos) == dot);
#endif
}
