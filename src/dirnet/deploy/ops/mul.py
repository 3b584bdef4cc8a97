"""The elementwise product ``a * b`` (``*``, ``*=``, ``torch.mul``, ``.mul()``): file op ``mul``.

Both operands must be tensors computed by the model, of the same shape, or
one of them ``(N, C, 1, 1)`` against an ``(N, C, H, W)`` operand (the
channel gate of squeeze-and-excitation: ``x * sigmoid(...)``). Products by
constants and other broadcasts are refused here, with the shapes in the
message, rather than at load time. No attributes, no tensors.
"""
from __future__ import annotations

import operator

import torch
from torch import fx

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec


def _shape(node, name: str) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    if meta is None or not hasattr(meta, "shape"):
        raise ExportError(f"mul {name!r}: both operands must be tensors computed by the model, got {node!r}")
    return tuple(int(v) for v in meta.shape)


def _gate(s: tuple[int, ...], x: tuple[int, ...]) -> bool:
    return len(s) == len(x) == 4 and s[:2] == x[:2] and s[2:] == (1, 1)


def _write_call(w, name, x, args, kwargs, fname):
    """``x``: the method's tensor, or None for a function (``raw_args``: no operand read yet)."""
    if len(args) != 2 or kwargs:
        return None
    sa, sb = _shape(args[0], name), _shape(args[1], name)
    if not (sa == sb or _gate(sa, sb) or _gate(sb, sa)):
        raise ExportError(f"mul {name!r}: cannot multiply shapes {list(sa)} and {list(sb)}; the native runtime "
                          "multiplies tensors of the same shape, or (N, C, H, W) by (N, C, 1, 1)")
    a = w.arg(args[0], fname) if x is None else x
    b = w.arg(args[1], fname)
    return w.emit("mul", name, [a, b], w.rank[a])  # equal ranks (checked above)


register(OpSpec(
    "mul", functions=(operator.mul, operator.imul, torch.mul), methods=("mul", "mul_", "__mul__", "__imul__"),
    raw_args=True, write_call=_write_call, write_method=_write_call, supports="'*' (same shape or channel gate)",
    doc_order=71,
))
