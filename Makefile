# dirnet: one-command set-up, demo and tests on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.dirnet-installed

.PHONY: venv demo test test-native test-arm64 sanitize-arm64 bench sanitize lint clean

# torch first: the pinned version is the CPU wheel on this machine's disk;
# resolving it through the package's dependencies would pull a CUDA build.
$(STAMP): pyproject.toml CMakeLists.txt $(shell find csrc -name "*.cpp" -o -name "*.hpp" -o -name "*.h" -o -name CMakeLists.txt | grep -v third_party)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dirnet demo

test: $(STAMP) test-native
	$(PY) -m pytest tests

# The standalone native core (csrc/: no Python, no pip) and its C++ tests.
NATIVE_DIR := build/native
test-native:
	cmake -S csrc -B $(NATIVE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(NATIVE_DIR) --parallel 2
	ctest --test-dir $(NATIVE_DIR) --output-on-failure

# The aarch64 build, tested on this (x86-64) machine under qemu-user: a cross
# build of csrc/ (csrc/cmake/toolchain-aarch64-linux-gnu.cmake), its whole
# ctest suite on a Cortex-A72 (ARMv8.0, no dot product: Raspberry Pi 4; paths
# neon, portable, reference) and on a Cortex-A76 (dot product: Pi 5; neon_dot
# too), then ResNet-20 and ResNet-18 .dbnn files through the x86-64 and the
# aarch64 dirnet-run on every aarch64 path: the logits must be the same bytes
# (csrc/tests/arm64_e2e.py). Installs the cross compiler and qemu when missing.
ARM64_DIR := build/arm64
ARM64_TOOLCHAIN := $(abspath csrc/cmake/toolchain-aarch64-linux-gnu.cmake)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-arm64: $(STAMP)
	command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y g++-aarch64-linux-gnu qemu-user; }
	cmake -S csrc -B $(ARM64_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=$(ARM64_TOOLCHAIN) >/dev/null
	cmake --build $(ARM64_DIR) --parallel 2
	QEMU_CPU=cortex-a72 DIRNET_EXPECT_PATHS=neon,portable,reference \
	  ctest --test-dir $(ARM64_DIR) --output-on-failure
	QEMU_CPU=cortex-a76 DIRNET_EXPECT_PATHS=neon_dot,neon,portable,reference \
	  ctest --test-dir $(ARM64_DIR) --output-on-failure
	cmake -S csrc -B $(NATIVE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(NATIVE_DIR) --parallel 2 --target dirnet-run
	$(PY) csrc/tests/arm64_e2e.py --x86-run $(NATIVE_DIR)/dirnet-run --arm64-run $(ARM64_DIR)/dirnet-run \
	  --work $(ARM64_DIR)/e2e

# The aarch64 ctest suite under AddressSanitizer + UBSan, in qemu on both CPU
# models (not part of .ci/run: about 8 minutes with the build).
ARM64_SAN_DIR := build/arm64-san
sanitize-arm64:
	cmake -S csrc -B $(ARM64_SAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIRNET_SANITIZE=ON \
	  -DCMAKE_TOOLCHAIN_FILE=$(ARM64_TOOLCHAIN) >/dev/null
	cmake --build $(ARM64_SAN_DIR) --parallel 2
	for cpu in cortex-a72 cortex-a76; do \
	  QEMU_CPU=$$cpu ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    ctest --test-dir $(ARM64_SAN_DIR) --output-on-failure || exit 1; done

# Kernel tests under AddressSanitizer + UBSan: first the standalone native
# core (build/sanitize-core) and its ctest (C++ tests, the loader fuzz run
# included), then a separate build of the extension (build/sanitize), loaded
# through DIRNET_KERNELS_LIB; the Python host is not instrumented, so
# libasan/libubsan are preloaded.
SAN_DIR := build/sanitize
SAN_CORE_DIR := build/sanitize-core
sanitize: $(STAMP)
	cmake -S csrc -B $(SAN_CORE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIRNET_SANITIZE=ON
	cmake --build $(SAN_CORE_DIR) -j2
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:check_initialization_order=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --test-dir $(SAN_CORE_DIR) --output-on-failure
	$(PY) -c "import pybind11" 2>/dev/null || $(PIP) install -q pybind11
	cmake -S . -B $(SAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIRNET_SANITIZE=ON \
	  -DPython_EXECUTABLE=$(abspath $(PY)) -Dpybind11_DIR=$$($(PY) -c "import pybind11; print(pybind11.get_cmake_dir())")
	cmake --build $(SAN_DIR)
	DIRNET_KERNELS_LIB=$$(ls $(abspath $(SAN_DIR))/csrc/_kernels*.so) \
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:check_initialization_order=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(PY) -m pytest tests/test_kernels.py tests/test_kernels_plan.py tests/test_deploy.py \
	  tests/test_deploy_fuzz.py tests/test_deploy_families.py tests/test_deploy_int8.py -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

clean:
	rm -rf build dist runs .pytest_cache

# CIFAR-10 in the official python format, unpacked from the offline JPEG q75 copy (~5 s).
SHARED_DATA ?= ../shared/data
.PHONY: cifar10
cifar10: data/cifar10/cifar-10-batches-py

data/cifar10/cifar-10-batches-py: | $(STAMP)
	rm -rf data/cifar10.tmp
	$(PY) $(SHARED_DATA)/cifar10_unpack.py data/cifar10.tmp
	mkdir -p data/cifar10
	mv data/cifar10.tmp/cifar-10-batches-py data/cifar10/
	rmdir data/cifar10.tmp
