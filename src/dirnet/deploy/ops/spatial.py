"""Spatial crops, zero padding and zeros (DARTS' FactorizedReduce and 'none' op).

* ``x[:, :, a:b:s, c:d:t]`` (``operator.getitem`` slicing only H and W, steps
  and starts >= 0): file op ``slice``, attrs ``start`` [h, w], ``stop`` [h, w]
  (an integer, clipped to the size as in Python, or null: to the end) and
  ``step`` [h, w];
* ``F.pad(x, (left, right[, top, bottom]))`` with zeros, non-negative pads:
  file op ``pad``, attr ``padding`` [top, left, bottom, right];
* ``darts_ops.Zero(stride)`` (kept as one node by the tracer): file op
  ``zero``, attr ``stride``: zeros of the strided input's shape
  (``ceil(H / s)`` x ``ceil(W / s)``).

The native ops live in csrc/core/ops/spatial/.
"""
from __future__ import annotations

import operator

import torch.nn.functional as F

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec

_BIG = 1 << 30  # larger than any size a plan accepts


def _full(s) -> bool:
    return isinstance(s, slice) and s.start is None and s.stop is None and s.step in (None, 1)


def _bound(v, what: str, name: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ExportError(f"slice {name!r}: {what} must be a non-negative integer, got {v!r}")
    return min(int(v), _BIG)


def _write_getitem(w, name, x, args, kwargs, fname):
    if len(args) != 2 or kwargs or w.rank.get(x) != 4:
        return None
    idx = args[1]
    if not isinstance(idx, tuple) or not all(isinstance(s, slice) for s in idx) or not 3 <= len(idx) <= 4:
        raise ExportError(f"indexing {name!r}: only x[:, :, h0:h1:hs, w0:w1:ws] (slices of H and W) is supported")
    if not (_full(idx[0]) and _full(idx[1])):
        raise ExportError(f"indexing {name!r}: the batch and channel dimensions must be taken whole")
    hw = list(idx[2:]) + [slice(None)] * (4 - len(idx))
    start = [_bound(s.start, "start", name) or 0 for s in hw]
    stop = [_bound(s.stop, "stop", name) for s in hw]
    step = [_bound(s.step, "step", name) or 1 for s in hw]
    if any(v < 1 for v in step):
        raise ExportError(f"slice {name!r}: steps must be positive")
    if start == [0, 0] and stop == [None, None] and step == [1, 1]:
        return x
    return w.emit("slice", name, [x], 4, {"start": start, "stop": stop, "step": step})


def _write_pad(w, name, x, args, kwargs, fname):
    if w.rank.get(x) != 4:
        raise ExportError(f"F.pad {name!r}: only 4-D tensors are supported")
    pad = kwargs.get("pad", args[1] if len(args) > 1 else None)
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    value = kwargs.get("value", args[3] if len(args) > 3 else None)
    if mode != "constant" or value not in (None, 0, 0.0):
        raise ExportError(f"F.pad {name!r}: only zero (constant 0) padding is supported")
    if not isinstance(pad, (tuple, list)) or len(pad) not in (2, 4) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 64 for p in pad):
        raise ExportError(f"F.pad {name!r}: pads must be 2 or 4 integers in [0, 64] (last dims), got {pad!r}")
    left, right = pad[0], pad[1]
    top, bottom = (pad[2], pad[3]) if len(pad) == 4 else (0, 0)
    if not any((top, left, bottom, right)):
        return x
    return w.emit("pad", name, [x], 4, {"padding": [top, left, bottom, right]})


def _zero_type():
    from dirnet.models.darts_ops import Zero

    return (Zero,)


def _write_zero(w, node, m, name: str, x: str) -> str:
    s = int(m.stride)
    if not 1 <= s <= 64 or w.rank[x] != 4:
        raise ExportError(f"Zero {name!r}: stride must be in [1, 64] on a 4-D tensor")
    return w.emit("zero", name, [x], 4, {"stride": s})


register(OpSpec(
    "slice", functions=(operator.getitem,), write_call=_write_getitem,
    supports_calls="x[:, :, h0:h1, w0:w1]", calls_order=21,
))
register(OpSpec(
    "pad", functions=(F.pad,), write_call=_write_pad, supports_calls="F.pad (zeros)", calls_order=22,
))
register(OpSpec(
    "zero", modules=_zero_type, leaf=True, write_module=_write_zero, supports="darts Zero", doc_order=60,
))
