"""``load(path)``: a .dbnn file as a callable that runs natively.

Reading, validating and planning the file happen in the native core
(``dirnet._kernels.Model``: csrc/core/loader, csrc/core/planner), and the
whole graph runs in C++ (one call from Python per inference, the GIL
released); this wrapper only checks the input and converts types.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dirnet.deploy import fileformat

MAX_THREADS = 1024  # the native plan's limit (csrc/plan.cpp, checked_threads)
# Every kernel path name of the native engine (csrc/core/dispatch.hpp), best first;
# dirnet._kernels.paths() lists those this CPU supports.
KERNEL_PATHS = ("avx512", "avx2", "neon_dot", "neon", "portable", "reference")


class DeployedModel:
    """A loaded .dbnn model: ``model(x)`` maps an NCHW float batch to logits.

    Accepts a torch tensor (returns torch tensors) or a numpy array (returns
    arrays). Any spatial size the graph allows works; the plan re-resolves
    buffers when the input shape changes.

    A model exported with one output returns it; one whose header lists
    several ``outputs`` returns them as the exported model did: the tuple,
    list or dict of its ``output_structure`` (files without one: a tuple
    when the names are the indices "0", "1", ..., else a dict by name).
    """

    def __init__(self, path: str, model: Any):
        self.path = path
        self._model = model  # dirnet._kernels.Model
        self.header = json.loads(model.header_json)
        self.ops: list[str] = list(model.describe)
        self.output_names: list[str] = [name for name, _ in model.outputs]

    # -- metadata
    @property
    def class_names(self) -> list[str] | None:
        return self.header.get("class_names")

    @property
    def input_size(self) -> tuple[int, int, int] | None:
        hint = self.header["input"].get("size_hint")
        return tuple(hint) if hint else None

    @property
    def in_channels(self) -> int:
        return int(self.header["input"]["channels"])

    @property
    def precision(self) -> str:
        return self.header["precision"]

    @property
    def threads(self) -> int:
        return self._model.threads

    @property
    def kernel_path(self) -> str:
        return self._model.path

    def __repr__(self) -> str:
        return (f"DeployedModel({self.path!r}, arch={self.header.get('architecture')}, "
                f"precision={self.precision}, kernels={self.kernel_path}, threads={self.threads})")

    # -- inference
    def _to_array(self, x: Any) -> tuple[np.ndarray, bool]:
        is_torch = type(x).__module__.split(".")[0] == "torch"
        if is_torch:
            import torch

            if not isinstance(x, torch.Tensor):
                raise TypeError(f"expected a tensor or an array, got {type(x).__name__}")
            if not x.is_floating_point():
                raise TypeError(f"input must be a floating-point tensor, got {x.dtype}")
            x = x.detach().to("cpu", torch.float32).contiguous().numpy()
        elif isinstance(x, np.ndarray):
            if x.dtype.kind != "f":
                raise TypeError(f"input must be a floating-point array, got dtype {x.dtype}")
            x = np.ascontiguousarray(x, dtype=np.float32)
        else:
            raise TypeError(f"expected a torch tensor or a numpy array, got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(f"input must be NCHW (4-D), got shape {tuple(x.shape)}"
                             + (" (add a batch dimension: x[None])" if x.ndim == 3 else ""))
        if x.shape[1] != self.in_channels:
            raise ValueError(f"input has {x.shape[1]} channels, the model expects {self.in_channels} "
                             f"(shape {tuple(x.shape)}, expected (N, {self.in_channels}, H, W))")
        if 0 in x.shape:
            raise ValueError(f"input has an empty dimension: {tuple(x.shape)}")
        return x, is_torch

    def _finish(self, outs: list[np.ndarray], is_torch: bool):
        if is_torch:
            import torch

            outs = [torch.from_numpy(o) for o in outs]
        if "outputs" not in self.header:  # one output, named after its value
            return outs[0]
        names = self.output_names
        # the header's output_structure (checked by the loader); files without
        # it: a tuple when the names are the indices, else a dict
        structure = self.header.get("output_structure")
        if structure is None:
            structure = "tuple" if names == [str(i) for i in range(len(names))] else "dict"
        if structure == "dict":
            return dict(zip(names, outs))
        return list(outs) if structure == "list" else tuple(outs)

    def __call__(self, x: Any):
        arr, is_torch = self._to_array(x)
        return self._finish(self._model.run(arr), is_torch)

    def profile(self, x: Any, reps: int = 10) -> list[tuple[str, float]]:
        """Median seconds per native op over ``reps`` runs (first entry: input layout)."""
        arr, _ = self._to_array(x)
        times = self._model.profile(arr, int(reps))
        return list(zip(self._model.op_names(), times))


def load(
    path: str | os.PathLike,
    threads: int | None = None,
    kernel: str | None = None,
    max_memory: int | None = None,
) -> DeployedModel:
    """Load a .dbnn file and build its native plan once.

    ``threads``: worker threads, 1 to ``MAX_THREADS`` (1024); None: every CPU this
    process may use.
    ``kernel``: force a kernel path ("avx512", "avx2" on x86-64, "neon_dot", "neon"
    on aarch64, "portable", or "reference": the plain, slow kernels the others are
    tested against); default: the best this CPU supports, or the DIRNET_KERNEL
    environment variable.
    ``max_memory``: bytes of activation buffers one input shape may use
    (default 8 GiB); larger inputs raise ValueError instead of exhausting memory.
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or not 1 <= threads <= MAX_THREADS):
        raise ValueError(f"threads must be an integer in [1, {MAX_THREADS}] or None (every CPU), "
                         f"got {threads!r}")
    if kernel is not None and kernel not in KERNEL_PATHS:
        raise ValueError(f"kernel must be one of {', '.join(map(repr, KERNEL_PATHS))}, got {kernel!r}")
    if max_memory is not None and (isinstance(max_memory, bool) or not isinstance(max_memory, int)
                                   or max_memory < 1):
        raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
    path = os.fspath(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"no such .dbnn file: {path}")
    if not Path(path).is_file():
        raise fileformat.FormatError(f"{path} is not a regular file")
    from dirnet.deploy._native import kernels

    # A bad file raises fileformat.FormatError from the native loader and planner.
    model = kernels().Model.load(path, threads=threads or 0, path=kernel or "", max_bytes=max_memory or 0)
    return DeployedModel(path, model)
