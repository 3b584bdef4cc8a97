"""Channel concatenation ``torch.cat([a, b, ...], dim=1)`` of 4-D tensors: file op ``concat``.

Any number of inputs (at least one), all with the same batch and spatial
size; the output's channels are the inputs' in order. The native op lives in
csrc/core/ops/concat/.
"""
from __future__ import annotations

import torch

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec


def _write_cat(w, name, x, args, kwargs, fname):
    """``raw_args``: the fx arguments as traced (a list of tensors, then ``dim``)."""
    if not args or len(args) > 2 or set(kwargs) - {"dim"}:
        return None
    tensors = args[0]
    dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
    if not isinstance(tensors, (list, tuple)) or not tensors:
        return None
    values = [w.arg(t, fname) for t in tensors]
    if any(w.rank[v] != 4 for v in values):
        raise ExportError(f"torch.cat {name!r}: only 4-D (N, C, H, W) tensors can be concatenated")
    if dim not in (1, -3):
        raise ExportError(f"torch.cat {name!r}: only dim=1 (channels) is supported, got dim={dim!r}")
    if len(values) == 1:
        return values[0]
    return w.emit("concat", name, values, 4)


register(OpSpec(
    "concat", functions=(torch.cat, torch.concat), raw_args=True, write_call=_write_cat,
    supports_calls="cat(dim=1)", calls_order=20,
))
