"""The residual ``+`` (``a + b``, ``a += b``, ``torch.add(a, b)``, ``a.add(b)``): file op ``add``."""
from __future__ import annotations

import operator

import torch

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import OpSpec


def _write_call(w, name, x, args, kwargs, fname):
    """``x``: the method's tensor, or None for a function (``raw_args``: no operand read yet)."""
    if len(args) == 2 and not kwargs:
        if x is None:
            a, b = w.arg(args[0], fname), w.arg(args[1], fname)
            return w.emit("add", name, [a, b], w.rank[a])
        return w.emit("add", name, [x, w.arg(args[1], fname)], w.rank[x])
    return None



register(OpSpec(
    "add", functions=(operator.add, operator.iadd, torch.add), methods=("add", "add_", "__add__", "__iadd__"),
    raw_args=True, write_call=_write_call, write_method=_write_call, supports="residual '+'", doc_order=70,
))
