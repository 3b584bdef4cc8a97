"""``Linear`` (full precision, file op ``linear``) and ``BinaryLinear`` (``blinear``)."""
from __future__ import annotations

import numpy as np
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import MAX_CH, ExportError, OpSpec, binary_tensors, get_int, np32


def _geometry(node):
    """A linear layer is a 1x1 conv on a 1x1 image: (in_features, stride, pads, dilation, zero_pad)."""
    return node.attrs["in_features"], [1, 1], [0, 0, 0, 0], [1, 1], False


# -- linear


def _write_linear(w, node, m: nn.Linear, name: str, x: str) -> str:
    r = w.rank[x]
    if r != 2:
        raise ExportError(f"Linear {str(node.target)!r} is applied to a {r}-D tensor; only (N, features) is supported")
    t = {"weight": w.fp_weight(name, m.weight)}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    return w.emit("linear", name, [x], 2, {"in_features": m.in_features,
                                           "out_features": m.out_features}, t)


def _parse_linear(tt, raw, node, attrs, name) -> None:
    fi = get_int(attrs, "in_features", name, 1, MAX_CH * 64)
    fo = get_int(attrs, "out_features", name, 1, MAX_CH)
    w = tt.get(raw, "weight", tt.fp, (fo, fi))
    node.arrays["weight"] = w.astype(np.float32).reshape(fo, fi, 1, 1)
    node.arrays["bias"] = tt.vec(raw, "bias", fo, required=False)


register(OpSpec(
    "linear", modules=lambda: (nn.Linear,), write_module=_write_linear,
    supports="Linear", doc_order=12,
    parse=_parse_linear, in_rank=2, out_rank=2, role="conv",
    geometry=_geometry,
))


# -- blinear


def _binary_linear_type():
    from dirnet.nn import BinaryLinear

    return (BinaryLinear,)


def _write_blinear(w, node, m: nn.Linear, name: str, x: str) -> str:
    if w.rank[x] != 2:
        raise ExportError(f"BinaryLinear {name!r} is applied to a {w.rank[x]}-D tensor; only (N, features)")
    t = binary_tensors(w, m, name, "BinaryLinear")
    return w.emit("blinear", name, [x], 2, {"in_features": m.in_features,
                                            "out_features": m.out_features}, t)


def _parse_blinear(tt, raw, node, attrs, name) -> None:
    fi = get_int(attrs, "in_features", name, 1, MAX_CH * 64)
    fo = get_int(attrs, "out_features", name, 1, MAX_CH)
    w = tt.get(raw, "weight", np.uint64, (fo, (fi + 63) // 64))
    node.arrays["weight"] = w.reshape(fo, 1, 1, -1)
    node.arrays["scale"] = tt.vec(raw, "scale", fo)
    node.arrays["bias"] = tt.vec(raw, "bias", fo, required=False)
    node.arrays["in_threshold"] = tt.vec(raw, "in_threshold", fi, required=False)


register(OpSpec(
    "blinear", modules=_binary_linear_type, leaf=True, write_module=_write_blinear,
    supports="BinaryLinear", doc_order=13,
    parse=_parse_blinear, in_rank=2, out_rank=2, role="conv", binary=True,
    geometry=_geometry,
))
