"""Smooth and hard activations that run as their own native pass: ``SiLU`` /
``F.silu`` (file op ``silu``), ``Sigmoid`` / ``torch.sigmoid`` / ``.sigmoid()``
(``sigmoid``), ``Hardswish`` / ``F.hardswish`` (``hardswish``) and
``Hardsigmoid`` / ``F.hardsigmoid`` (``hardsigmoid``).

They take no attributes or tensors and any rank. Unlike ``hardtanh`` / ``relu``
/ ``prelu`` they are not fused into conv epilogues: the native planner runs a
conv [+ BN] fused as usual and the activation as one vectorized pass after it
(csrc/core/ops/unary). Full precision: sigmoid and silu match PyTorch to float
tolerance (a vectorized exp within 1e-6 relative), hardswish and hardsigmoid
bit for bit.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import OpSpec


def _writers(op: str):
    def write_module(w, node, m, name: str, x: str) -> str:
        return w.emit(op, name, [x], w.rank[x])

    def write_call(w, name, x, args, kwargs, fname):
        # f(x) or f(x, inplace=...): in-place or not, the value is the same
        if len(args) != 1 or set(kwargs) - {"inplace"}:
            return None
        return w.emit(op, name, [x], w.rank[x])

    return write_module, write_call


def _register(op: str, modules, functions, methods, supports: str, doc_order: int, calls_order: int) -> None:
    write_module, write_call = _writers(op)
    register(OpSpec(
        op, modules=modules, write_module=write_module,
        functions=functions, methods=methods, write_call=write_call, write_method=write_call,
        supports=supports, doc_order=doc_order, supports_calls=op, calls_order=calls_order,
    ))


_register("silu", lambda: (nn.SiLU,), (F.silu,), ("silu",), "SiLU", 35, 10)
_register("sigmoid", lambda: (nn.Sigmoid,), (torch.sigmoid, torch.sigmoid_, F.sigmoid),
          ("sigmoid", "sigmoid_"), "Sigmoid", 36, 11)
_register("hardswish", lambda: (nn.Hardswish,), (F.hardswish,), (), "Hardswish", 37, 12)
_register("hardsigmoid", lambda: (nn.Hardsigmoid,), (F.hardsigmoid,), (), "Hardsigmoid", 38, 13)
