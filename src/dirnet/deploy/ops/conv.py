"""``Conv2d`` (full precision, file op ``conv2d``) and ``BinaryConv2d`` (``bconv2d``)."""
from __future__ import annotations

import numpy as np
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import (
    MAX_CH,
    ExportError,
    OpSpec,
    bad,
    binary_tensors,
    get_int,
    get_ints,
    np32,
)


def conv_pads(m: nn.Conv2d) -> tuple[int, int, int, int]:
    """(top, left, bottom, right)."""
    pads = getattr(m, "_pads", None)
    if pads is not None:
        left, right, top, bottom = pads
        return int(top), int(left), int(bottom), int(right)
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return (0, 0, 0, 0)
        out = []
        for d, k in zip(m.dilation, m.kernel_size):
            total = d * (k - 1)
            out.append((total // 2, total - total // 2))
        (t, b), (left, right) = out
        return t, left, b, right
    ph, pw = m.padding
    return ph, pw, ph, pw


def _check_groups(qual: str, m: nn.Conv2d) -> None:
    if m.groups != 1:
        raise ExportError(f"{type(m).__name__} {qual!r} has groups={m.groups}: grouped/depthwise "
                          "convolutions are not supported by the native runtime")


def _geometry_attrs(tt, raw, attrs, name):
    ic = get_int(attrs, "in_channels", name, 1, MAX_CH)
    oc = get_int(attrs, "out_channels", name, 1, MAX_CH)
    kh, kw = get_ints(attrs, "kernel", name, 2, 1, 64)
    get_ints(attrs, "stride", name, 2, 1, 64)
    get_ints(attrs, "padding", name, 4, 0, 64)
    get_ints(attrs, "dilation", name, 2, 1, 64)
    return ic, oc, kh, kw


# -- conv2d


def _write_conv(w, node, m: nn.Conv2d, name: str, x: str) -> str:
    if m.groups != 1:  # grouped / depthwise: its own file op (ops/gconv.py)
        from dirnet.deploy.ops.gconv import write_gconv

        return write_gconv(w, node, m, name, x)
    if m.padding_mode != "zeros":
        raise ExportError(f"Conv2d {name!r}: padding_mode={m.padding_mode!r} is not supported")
    pads = conv_pads(m)
    # The stem (a conv reading the network input) stays fp32 in an fp16
    # file: it is tiny, and its rounding would move signs in every layer.
    t = {"weight": w.fp_weight(name, m.weight, keep_fp32=x == w.input_value)}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    return w.emit("conv2d", name, [x], 4, {
        "in_channels": m.in_channels, "out_channels": m.out_channels,
        "kernel": list(m.kernel_size), "stride": list(m.stride), "padding": list(pads),
        "dilation": list(m.dilation)}, t)


def _parse_conv(tt, raw, node, attrs, name) -> None:
    ic, oc, kh, kw = _geometry_attrs(tt, raw, attrs, name)
    w = tt.get(raw, "weight", tt.fp, (oc, ic, kh, kw))
    node.arrays["weight"] = w.astype(np.float32)
    node.arrays["bias"] = tt.vec(raw, "bias", oc, required=False)


def _conv_geometry(node):
    a = node.attrs
    return a["in_channels"], a["stride"], a["padding"], a["dilation"], False


register(OpSpec(
    "conv2d", modules=lambda: (nn.Conv2d,), write_module=_write_conv,
    supports="Conv2d (grouped/depthwise: gconv2d)", doc_order=10,
    parse=_parse_conv, in_rank=4, role="conv", geometry=_conv_geometry,
))


# -- bconv2d


def _binary_conv_type():
    from dirnet.nn import BinaryConv2d

    return (BinaryConv2d,)


def _write_bconv(w, node, m: nn.Conv2d, name: str, x: str) -> str:
    if m.groups != 1:
        raise ExportError(f"BinaryConv2d {name!r} has groups={m.groups}: not supported")
    t = binary_tensors(w, m, name, "BinaryConv2d", lambda s: s.permute(0, 2, 3, 1))
    pads = conv_pads(m)
    return w.emit("bconv2d", name, [x], 4, {
        "in_channels": m.in_channels, "out_channels": m.out_channels, "kernel": list(m.kernel_size),
        "stride": list(m.stride), "padding": list(pads), "dilation": list(m.dilation),
        "pad_value": float(getattr(m, "pad_value", 1.0))}, t)


def _parse_bconv(tt, raw, node, attrs, name) -> None:
    ic, oc, kh, kw = _geometry_attrs(tt, raw, attrs, name)
    pv = attrs.get("pad_value")
    if pv not in (0, 1, 0.0, 1.0) or isinstance(pv, bool):
        raise bad(name, f"pad_value must be 0 or 1, got {pv!r}")
    node.arrays["weight"] = tt.get(raw, "weight", np.uint64, (oc, kh, kw, (ic + 63) // 64))
    node.arrays["scale"] = tt.vec(raw, "scale", oc)
    node.arrays["bias"] = tt.vec(raw, "bias", oc, required=False)
    node.arrays["in_threshold"] = tt.vec(raw, "in_threshold", ic, required=False)


def _bconv_geometry(node):
    a = node.attrs
    return a["in_channels"], a["stride"], a["padding"], a["dilation"], float(a["pad_value"]) == 0.0


register(OpSpec(
    "bconv2d", modules=_binary_conv_type, leaf=True, write_module=_write_bconv, check_module=_check_groups,
    supports="BinaryConv2d", doc_order=11,
    parse=_parse_bconv, in_rank=4, role="conv", binary=True, geometry=_bconv_geometry,
))
