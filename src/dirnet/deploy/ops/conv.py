"""``Conv2d`` (full precision, file op ``conv2d``) and ``BinaryConv2d`` (``bconv2d``)."""
from __future__ import annotations

from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec, binary_tensors, np32


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



# -- conv2d


def _write_conv(w, node, m: nn.Conv2d, name: str, x: str) -> str:
    if m.groups != 1:  # grouped / depthwise: its own file op (ops/gconv.py)
        from dirnet.deploy.ops.gconv import write_gconv

        return write_gconv(w, node, m, name, x)
    if m.padding_mode != "zeros":
        raise ExportError(f"Conv2d {name!r}: padding_mode={m.padding_mode!r} is not supported")
    pads = conv_pads(m)
    scale = w.act_scale(m, x)
    if scale is not None:  # int8 export (ops/qconv.py)
        from dirnet.deploy.ops.qconv import write_qconv

        return write_qconv(w, m, name, x, pads, scale)
    # The stem (a conv reading the network input) stays fp32 in an fp16
    # file: it is tiny, and its rounding would move signs in every layer.
    t = {"weight": w.fp_weight(name, m.weight, keep_fp32=x == w.input_value)}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    return w.emit("conv2d", name, [x], 4, {
        "in_channels": m.in_channels, "out_channels": m.out_channels,
        "kernel": list(m.kernel_size), "stride": list(m.stride), "padding": list(pads),
        "dilation": list(m.dilation)}, t)



register(OpSpec(
    "conv2d", modules=lambda: (nn.Conv2d,), write_module=_write_conv,
    supports="Conv2d (grouped/depthwise: gconv2d)", doc_order=10,
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



register(OpSpec(
    "bconv2d", modules=_binary_conv_type, leaf=True, write_module=_write_bconv, check_module=_check_groups,
    supports="BinaryConv2d", doc_order=11,
))
