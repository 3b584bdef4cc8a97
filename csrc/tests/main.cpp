// The doctest runner of the C++ tests (`ctest` runs one file at a time).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
