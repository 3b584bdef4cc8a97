"""What one op of the deployment path is: :class:`OpSpec`, and the helpers its parts share.

An op spec is everything Python knows about one op (or one family of torch
modules/functions that export to the same file op):

* **export** (``dirnet.deploy.exporter``): which torch modules, functions and
  tensor methods it matches, how a match is validated and written into the
  ``.dbnn`` graph (``write_module`` / ``write_call``);
* **load**: nothing here. Reading, validating and planning a file op is the
  native core's (one ``*_graph.cpp`` per op family under csrc/core/ops/, the
  passes in csrc/core/planner/).

A spec whose writer emits other file ops (``Identity``, ``RPReLU``,
``x.mean((2, 3))``) is named by a unique label instead of a file op.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


class ExportError(ValueError):
    """The model contains something the native runtime cannot run."""


@dataclass(frozen=True)
class OpSpec:
    """One op of the deployment path (see the module docstring).

    ``name`` is the file op type it writes, or a unique label. Writers take the
    ``_GraphWriter`` (``w``) and return the value name of their result;
    ``write_call`` / ``write_method`` return None when the call's arguments do not
    match (the exporter then raises its usual error). ``write_call`` gets ``x`` =
    the first argument as a graph value (the exporter refuses a call whose first
    argument is not a tensor of the model), or None with ``raw_args`` (it reads
    its operands itself).
    """

    name: str
    # -- export side
    modules: Callable[[], tuple[type, ...]] | None = None  # lazily imported torch module types
    leaf: bool = False            # trace the module as one node (dirnet's own layers)
    functions: tuple[Any, ...] = ()   # torch functions (call_function targets)
    methods: tuple[str, ...] = ()     # tensor method names (call_method targets)
    raw_args: bool = False        # write_call gets the fx args unconverted (before args[0] is read)
    write_module: Callable[..., str] | None = None  # (w, node, m, name, x) -> value
    write_call: Callable[..., str | None] | None = None  # (w, name, x, args, kwargs, fname) -> value | None
    write_method: Callable[..., str | None] | None = None  # the same, for tensor methods (x: the tensor)
    check_module: Callable[[str, Any], None] | None = None  # (qualname, module): raise before tracing shapes
    supports: str = ""            # its entry in the "the native runtime supports ..." list
    supports_calls: str = ""      # its entry in the list of functions (joined with '/')
    doc_order: int = 100          # where ``supports`` appears in that list
    calls_order: int = 100        # where ``supports_calls`` appears in the list of functions


# -- export helpers


def np32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy().astype(np.float32, copy=True)


def binary_tensors(w, m, name: str, kind: str,
                   layout: Callable[[torch.Tensor], torch.Tensor] = lambda s: s) -> dict[str, str]:
    """A binary layer's file tensors: packed weight signs (``layout`` puts the input
    channels last), per-output-channel scale, and bias and input threshold if it has them."""
    from dirnet.deploy.bitpack import pack_signs

    signs, scale = m.binary_weight()
    signs = signs.detach().float()
    if not bool(((signs == 1) | (signs == -1)).all()):
        raise ExportError(f"{kind} {name!r}: binary_weight() returned values other than +-1")
    out = signs.shape[0]
    scale = scale.detach().float().reshape(-1)
    if scale.numel() == 1:
        scale = scale.expand(out)
    if scale.numel() != out:
        raise ExportError(f"{kind} {name!r}: scale has {scale.numel()} values for {out} channels")
    t = {"weight": w.tensor(name, "weight", pack_signs(layout(signs).cpu().numpy())),
         "scale": w.tensor(name, "scale", scale.cpu().numpy().astype(np.float32))}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    thr = m.input_threshold()
    if thr is not None:
        t["in_threshold"] = w.tensor(name, "in_threshold", np32(thr).reshape(-1))
    return t


def pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ExportError(f"expected a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)

