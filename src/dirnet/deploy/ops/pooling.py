"""Pooling: ``MaxPool2d`` (``maxpool2d``), ``AvgPool2d`` (``avgpool2d``), ``AdaptiveAvgPool2d`` /
``F.adaptive_avg_pool2d`` (``adaptive_avgpool2d``) and the spatial mean ``x.mean((2, 3))``
(written as adaptive_avgpool2d(1, 1) [-> flatten])."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec, pair

# -- maxpool2d


def _write_maxpool(w, node, m: nn.MaxPool2d, name: str, x: str) -> str:
    if m.return_indices:
        raise ExportError(f"MaxPool2d {str(node.target)!r}: return_indices is not supported")
    return w.emit("maxpool2d", name, [x], 4, {
        "kernel": list(pair(m.kernel_size)), "stride": list(pair(m.stride or m.kernel_size)),
        "padding": list(pair(m.padding)), "dilation": list(pair(m.dilation)),
        "ceil_mode": bool(m.ceil_mode)})



register(OpSpec(
    "maxpool2d", modules=lambda: (nn.MaxPool2d,), write_module=_write_maxpool,
    supports="MaxPool2d", doc_order=40,
))


# -- avgpool2d


def _write_avgpool(w, node, m: nn.AvgPool2d, name: str, x: str) -> str:
    return w.emit("avgpool2d", name, [x], 4, {
        "kernel": list(pair(m.kernel_size)), "stride": list(pair(m.stride or m.kernel_size)),
        "padding": list(pair(m.padding)), "ceil_mode": bool(m.ceil_mode),
        "count_include_pad": bool(m.count_include_pad),
        "divisor": int(m.divisor_override or 0)})



register(OpSpec(
    "avgpool2d", modules=lambda: (nn.AvgPool2d,), write_module=_write_avgpool,
    supports="AvgPool2d", doc_order=41,
))


# -- adaptive_avgpool2d


def write_adaptive(w, name: str, x: str, size: Any) -> str:
    oh, ow = size if isinstance(size, (tuple, list)) else (size, size)
    if oh is None or ow is None:
        raise ExportError(f"AdaptiveAvgPool2d {name!r}: output size None is not supported")
    return w.emit("adaptive_avgpool2d", name, [x], 4, {"output_size": [int(oh), int(ow)]})


register(OpSpec(
    "adaptive_avgpool2d", modules=lambda: (nn.AdaptiveAvgPool2d,),
    write_module=lambda w, node, m, name, x: write_adaptive(w, name, x, m.output_size),
    functions=(F.adaptive_avg_pool2d,),
    write_call=lambda w, name, x, args, kwargs, fname: write_adaptive(
        w, name, x, kwargs.get("output_size", args[1] if len(args) > 1 else None)),
    supports="AdaptiveAvgPool2d", doc_order=42,
))


# -- mean over (2, 3): adaptive_avgpool2d to 1x1, then flatten unless keepdim


def _write_mean(w, name, x, args, kwargs, fname):
    args = args[1:]  # args[0] is x
    dims = kwargs.get("dim", args[0] if args else None)
    keep = kwargs.get("keepdim", args[1] if len(args) > 1 else False)
    if isinstance(dims, int):
        dims = (dims,)
    if w.rank[x] != 4 or not isinstance(dims, (tuple, list)) or sorted(int(d) % 4 for d in dims) != [2, 3]:
        raise ExportError(f"mean {name!r}: only the spatial mean x.mean((2, 3)) is supported")
    y = write_adaptive(w, name, x, (1, 1))
    return y if keep else w.emit("flatten", w.unique(name + ".flatten"), [y], 2)


register(OpSpec("mean", functions=(torch.mean,), methods=("mean",), write_call=_write_mean,
                write_method=_write_mean, supports_calls="mean", calls_order=4))
