"""``Flatten`` / ``torch.flatten(x, 1)`` / ``x.flatten(1)`` (file op ``flatten``, nothing on a
2-D tensor) and the modules that export to nothing: ``Identity``, ``Dropout``, ``Dropout2d``."""
from __future__ import annotations

import torch
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec


def _write_flatten_module(w, node, m: nn.Flatten, name: str, x: str) -> str:
    if m.start_dim != 1 or m.end_dim != -1:
        raise ExportError(f"Flatten {str(node.target)!r}: only start_dim=1, end_dim=-1 is supported")
    return x if w.rank[x] == 2 else w.emit("flatten", name, [x], 2)


def _write_flatten_call(w, name, x, args, kwargs, fname):
    args = args[1:]  # args[0] is x
    start = kwargs.get("start_dim", args[0] if args else 0)
    end = kwargs.get("end_dim", args[1] if len(args) > 1 else -1)
    r = w.rank[x]
    if start != 1 or end not in (-1, r - 1):
        raise ExportError(f"flatten {name!r}: only flatten(x, 1) is supported")
    return x if r == 2 else w.emit("flatten", name, [x], 2)


register(OpSpec(
    "flatten", modules=lambda: (nn.Flatten,), write_module=_write_flatten_module,
    functions=(torch.flatten,), methods=("flatten",), write_call=_write_flatten_call,
    write_method=_write_flatten_call,
    supports="Flatten", doc_order=50, supports_calls="flatten", calls_order=3,
))


register(OpSpec(
    "identity", modules=lambda: (nn.Identity, nn.Dropout, nn.Dropout2d),
    write_module=lambda w, node, m, name, x: x, supports="Identity, Dropout", doc_order=51,
))
