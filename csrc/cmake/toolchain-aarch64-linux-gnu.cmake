# Cross build for 64-bit Arm Linux (aarch64) from an x86-64 host, tested under
# qemu-user (make test-arm64):
#
#   cmake -S csrc -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=csrc/cmake/toolchain-aarch64-linux-gnu.cmake
#   cmake --build build/arm64 -j2
#   QEMU_CPU=cortex-a72 ctest --test-dir build/arm64   # ARMv8.0 + ASIMD (Pi 4): path neon
#   QEMU_CPU=cortex-a76 ctest --test-dir build/arm64   # + dot product (Pi 5): path neon_dot
#
# Needs g++-aarch64-linux-gnu and qemu-user (Debian/Ubuntu packages). ctest
# runs every test binary through CMAKE_CROSSCOMPILING_EMULATOR; qemu reads the
# CPU model from the QEMU_CPU environment variable at run time, so one build
# is tested on several CPUs. On a Raspberry Pi itself no toolchain file is
# needed: `cmake -S csrc -B build` builds natively.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(DIRNET_CROSS_PREFIX "aarch64-linux-gnu-" CACHE STRING "prefix of the cross compiler's commands")
set(DIRNET_CROSS_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH "the target's libraries (qemu -L)")
set(CMAKE_C_COMPILER "${DIRNET_CROSS_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${DIRNET_CROSS_PREFIX}g++")

# Libraries and headers from the target's root only; programs from the host.
set(CMAKE_FIND_ROOT_PATH "${DIRNET_CROSS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)  # install_and_consume finds dirnet in a scratch prefix

find_program(DIRNET_QEMU_AARCH64 qemu-aarch64)
if(DIRNET_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${DIRNET_QEMU_AARCH64};-L;${DIRNET_CROSS_SYSROOT}")
endif()
