// Kernel-path selection: every path the CPU supports can be chosen by name,
// and an unknown name is an error that lists the supported ones.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "dispatch.hpp"

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
