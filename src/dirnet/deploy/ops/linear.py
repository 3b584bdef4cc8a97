"""``Linear`` (full precision, file op ``linear``) and ``BinaryLinear`` (``blinear``)."""
from __future__ import annotations

from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec, binary_tensors, np32

# -- linear


def _write_linear(w, node, m: nn.Linear, name: str, x: str) -> str:
    r = w.rank[x]
    if r != 2:
        raise ExportError(f"Linear {str(node.target)!r} is applied to a {r}-D tensor; only (N, features) is supported")
    scale = w.act_scale(m, x)
    if scale is not None:  # int8 export (ops/qconv.py)
        from dirnet.deploy.ops.qconv import write_qlinear

        return write_qlinear(w, m, name, x, scale)
    t = {"weight": w.fp_weight(name, m.weight)}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    return w.emit("linear", name, [x], 2, {"in_features": m.in_features,
                                           "out_features": m.out_features}, t)



register(OpSpec(
    "linear", modules=lambda: (nn.Linear,), write_module=_write_linear,
    supports="Linear", doc_order=12,
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


register(OpSpec(
    "blinear", modules=_binary_linear_type, leaf=True, write_module=_write_blinear,
    supports="BinaryLinear", doc_order=13,
))
