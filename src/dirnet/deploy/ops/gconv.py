"""Grouped and depthwise ``Conv2d`` (``groups > 1``, full precision): file op ``gconv2d``.

A new op name rather than a ``groups`` attribute on ``conv2d``: a dirnet that
predates grouped convolutions refuses such a file ("unknown op type") instead
of running it as a dense convolution. ``ops/conv.py`` hands every ``Conv2d``
with ``groups > 1`` to :func:`write_gconv`.

Attributes: those of ``conv2d`` plus ``groups``; ``in_channels`` and
``out_channels`` are multiples of ``groups``. Weight ``[out, in / groups, kh,
kw]`` in the file's fp precision (fp32 when the conv reads the network
input), optional fp32 bias. The native op lives in csrc/core/ops/gconv2d/.
"""
from __future__ import annotations

from torch import nn

from dirnet.deploy.ops.base import ExportError, np32


def write_gconv(w, node, m: nn.Conv2d, name: str, x: str) -> str:
    from dirnet.deploy.ops.conv import conv_pads

    if m.padding_mode != "zeros":
        raise ExportError(f"Conv2d {name!r}: padding_mode={m.padding_mode!r} is not supported")
    if m.in_channels % m.groups or m.out_channels % m.groups:
        raise ExportError(f"Conv2d {name!r}: channels are not multiples of groups={m.groups}")
    t = {"weight": w.fp_weight(name, m.weight, keep_fp32=x == w.input_value)}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    return w.emit("gconv2d", name, [x], 4, {
        "in_channels": m.in_channels, "out_channels": m.out_channels, "groups": m.groups,
        "kernel": list(m.kernel_size), "stride": list(m.stride), "padding": list(conv_pads(m)),
        "dilation": list(m.dilation)}, t)
