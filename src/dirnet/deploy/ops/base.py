"""What one op of the deployment path is: :class:`OpSpec`, and the helpers its parts share.

An op spec is everything Python knows about one op (or one family of torch
modules/functions that export to the same file op):

* **export** (``dirnet.deploy.exporter``): which torch modules, functions and
  tensor methods it matches, how a match is validated and written into the
  ``.dbnn`` graph (``write_module`` / ``write_call``);
* **load** (``dirnet.deploy.planner``): for a file op, how its attributes and
  tensors are validated (``parse``), how many inputs it takes, the rank it
  needs and produces, and how the planner emits it when no fusion absorbed it
  (``emit``); conv-like ops and activations also describe what the fusion
  passes need (``role``, ``geometry``, ``act_code``, ``act_bounds``).

A spec that only exports (``Identity``, ``RPReLU``, ``x.mean((2, 3))``) has no
``parse``; its writer emits other file ops.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dirnet.deploy.fileformat import FormatError

MAX_CH = 1 << 20


class ExportError(ValueError):
    """The model contains something the native runtime cannot run."""


@dataclass(frozen=True)
class OpSpec:
    """One op of the deployment path (see the module docstring).

    ``name`` is the op type written to the file when ``parse`` is given, else
    a unique label. Writers take the ``_GraphWriter`` (``w``) and return the
    value name of their result; ``write_call`` / ``write_method`` return None
    when the call's arguments do not match (the exporter then raises its usual
    error). ``write_call`` gets ``x`` = the first argument as a graph value
    (the exporter refuses a call whose first argument is not a tensor of the
    model), or None with ``raw_args`` (it reads its operands itself).
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
    # -- load side (file ops only)
    parse: Callable[..., None] | None = None  # (tt, raw, node, attrs, name): validate, fill node.arrays
    inputs: int = 1
    in_rank: int | None = None    # required rank of the (first) input
    out_rank: int | None = None   # rank of the output; None: that of the first input
    role: str = ""                # "conv" (epilogue-fusable producer), "act" (fusable activation)
    binary: bool = False          # conv role: reads packed bits
    geometry: Callable[[Any], tuple] | None = None  # conv role: node -> (in_ch, stride, pads, dil, zero_pad)
    act_code: int = 0             # act role: the native activation enum
    act_bounds: Callable[[Any], tuple[float, float]] | None = None  # act role: node -> (lo, hi)
    emit: Callable[..., None] | None = None  # (plan, node, inputs, out): the op on its own

    @property
    def is_file_op(self) -> bool:
        return self.parse is not None


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


# -- load helpers


def bad(node_name: str, msg: str) -> FormatError:
    return FormatError(f"op {node_name!r}: {msg}")


def get_int(attrs: dict, key: str, name: str, lo: int, hi: int) -> int:
    v = attrs.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise bad(name, f"attribute {key!r} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def get_ints(attrs: dict, key: str, name: str, n: int, lo: int, hi: int) -> list[int]:
    v = attrs.get(key)
    if not isinstance(v, list) or len(v) != n or not all(
        isinstance(e, int) and not isinstance(e, bool) and lo <= e <= hi for e in v
    ):
        raise bad(name, f"attribute {key!r} must be {n} integers in [{lo}, {hi}], got {v!r}")
    return v


def get_float(attrs: dict, key: str, name: str) -> float:
    v = attrs.get(key)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
        raise bad(name, f"attribute {key!r} must be a finite number, got {v!r}")
    return float(v)


class Tensors:
    """The file's tensors, handed out only with the dtype and shape an op's attributes imply."""

    def __init__(self, tensors: dict[str, np.ndarray], precision: str):
        self.t = tensors
        # full-precision weights: fp16 or fp32 (an fp16 file may keep some layers in fp32)
        self.fp = (np.float16, np.float32)
        self.in_channels = 0           # the header's input channels (set by the planner)
        self.ranks: dict[str, int] = {}  # value -> rank of the values defined so far (set by the planner)

    def get(self, node: dict, key: str, dtype, shape: tuple[int, ...], required: bool = True):
        refs = node.get("tensors", {})
        ref = refs.get(key)
        if ref is None:
            if required:
                raise bad(node["name"], f"missing tensor {key!r}")
            return None
        if not isinstance(ref, str) or ref not in self.t:
            raise bad(node["name"], f"tensor {key!r} refers to {ref!r}, which is not in the file")
        a = self.t[ref]
        if not isinstance(a, np.ndarray):
            raise bad(node["name"], f"tensor {ref!r} is not an array")
        allowed = dtype if isinstance(dtype, tuple) else (dtype,)
        if a.dtype not in [np.dtype(d) for d in allowed]:
            want = " or ".join(str(np.dtype(d)) for d in allowed)
            raise bad(node["name"], f"tensor {ref!r} has dtype {a.dtype}, expected {want}")
        if tuple(a.shape) != tuple(shape):
            raise bad(node["name"], f"tensor {ref!r} has shape {tuple(a.shape)}, expected {tuple(shape)}")
        return np.ascontiguousarray(a)

    def vec(self, node: dict, key: str, n: int, required: bool = True):
        a = self.get(node, key, np.float32, (n,), required)
        return None if a is None else a.astype(np.float32)
