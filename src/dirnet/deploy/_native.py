"""Access to the compiled kernels (``dirnet._kernels``).

``DIRNET_KERNELS_LIB`` may name another build of the extension (the
``make sanitize`` build); ``DIRNET_KERNEL`` (avx512 | avx2 | neon_dot | neon | portable |
reference) forces a kernel path for the whole process.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

_MODULE: ModuleType | None = None


def kernels() -> ModuleType:
    """The ``dirnet._kernels`` extension, with a clear error when it was not built."""
    global _MODULE
    if _MODULE is not None:
        return _MODULE
    override = os.environ.get("DIRNET_KERNELS_LIB")
    try:
        if override:
            spec = importlib.util.spec_from_file_location("dirnet._kernels", override)
            if spec is None or spec.loader is None:
                raise ImportError(f"DIRNET_KERNELS_LIB={override!r} is not a loadable extension")
            mod = importlib.util.module_from_spec(spec)
            sys.modules["dirnet._kernels"] = mod
            spec.loader.exec_module(mod)
        else:
            mod = importlib.import_module("dirnet._kernels")
    except ImportError as exc:
        raise ImportError(
            "dirnet's native kernels are not available: "
            f"{exc}. Rebuild them with `pip install -e . --no-build-isolation` "
            "(needs a C++17 compiler, CMake and pybind11), see docs/deploy.md."
        ) from exc
    _MODULE = mod
    return mod
