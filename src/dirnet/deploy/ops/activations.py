"""Activations: ``Hardtanh`` / ``ReLU6`` (file op ``hardtanh``), ``ReLU`` (``relu``), ``PReLU``
(``prelu``) and ``RPReLU`` (written as affine -> prelu -> affine).

File activations fuse into a preceding conv's epilogue (``role="act"``,
``act_code`` = the native activation enum); on their own they are an eltwise op.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import MAX_CH, ExportError, OpSpec, bad, get_float, np32


def _act_emitter(code: int, bounds):
    def emit(plan, n, ins, out) -> None:
        lo, hi = bounds(n)
        plan.add_eltwise(n.name, ins[0], -1, out, act=code, lo=lo, hi=hi, slope=n.arrays.get("slope"))

    return emit


def _no_bounds(node) -> tuple[float, float]:
    return -1.0, 1.0


# -- hardtanh


def _write_hardtanh_module(w, node, m: nn.Hardtanh, name: str, x: str) -> str:
    return w.emit("hardtanh", name, [x], w.rank[x], {"min": float(m.min_val), "max": float(m.max_val)})


def _write_hardtanh_call(w, name, x, args, kwargs, fname):
    lo = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
    hi = kwargs.get("max_val", args[2] if len(args) > 2 else 1.0)
    return w.emit("hardtanh", name, [x], w.rank[x], {"min": float(lo), "max": float(hi)})


def _parse_hardtanh(tt, raw, node, attrs, name) -> None:
    lo, hi = get_float(attrs, "min", name), get_float(attrs, "max", name)
    if not lo <= hi:
        raise bad(name, "hardtanh needs min <= max")


def _hardtanh_bounds(node) -> tuple[float, float]:
    return get_float(node.attrs, "min", node.name), get_float(node.attrs, "max", node.name)


register(OpSpec(
    "hardtanh", modules=lambda: (nn.Hardtanh,), write_module=_write_hardtanh_module,
    functions=(F.hardtanh, F.hardtanh_), write_call=_write_hardtanh_call,
    supports="Hardtanh", doc_order=30, supports_calls="hardtanh", calls_order=2,
    parse=_parse_hardtanh, role="act", act_code=1, act_bounds=_hardtanh_bounds,
    emit=_act_emitter(1, _hardtanh_bounds),
))


# -- relu


def _write_relu_method(w, name, x, args, kwargs, fname):
    return w.emit("relu", name, [x], w.rank[x]) if len(args) == 1 else None


register(OpSpec(
    "relu", modules=lambda: (nn.ReLU,), write_module=lambda w, node, m, name, x: w.emit("relu", name, [x], w.rank[x]),
    functions=(F.relu, torch.relu, torch.relu_), methods=("relu",),
    write_call=lambda w, name, x, args, kwargs, fname: w.emit("relu", name, [x], w.rank[x]),
    write_method=_write_relu_method,
    supports="ReLU", doc_order=31, supports_calls="relu", calls_order=1,
    parse=lambda tt, raw, node, attrs, name: None, role="act", act_code=2, act_bounds=_no_bounds,
    emit=_act_emitter(2, _no_bounds),
))


# -- relu6: a hardtanh in the file (nn.ReLU6 is a Hardtanh with min 0, max 6)

register(OpSpec(
    "relu6", modules=lambda: (nn.ReLU6,), write_module=_write_hardtanh_module,
    functions=(F.relu6,),
    write_call=lambda w, name, x, args, kwargs, fname: w.emit("hardtanh", name, [x], w.rank[x],
                                                              {"min": 0.0, "max": 6.0}),
    supports="ReLU6", doc_order=32,
))


# -- prelu


def _write_prelu(w, node, m: nn.PReLU, name: str, x: str) -> str:
    return w.emit("prelu", name, [x], w.rank[x], {},
                  {"slope": w.tensor(name, "slope", np32(m.weight).reshape(-1))})


def _parse_prelu(tt, raw, node, attrs, name) -> None:
    ref = raw.get("tensors", {}).get("slope")
    arr = tt.t.get(ref) if isinstance(ref, str) else None
    if arr is None or arr.ndim != 1 or arr.size < 1 or arr.size > MAX_CH:
        raise bad(name, "missing or malformed PReLU slope")
    node.arrays["slope"] = tt.vec(raw, "slope", arr.size)


register(OpSpec(
    "prelu", modules=lambda: (nn.PReLU,), write_module=_write_prelu,
    supports="PReLU", doc_order=33,
    parse=_parse_prelu, role="act", act_code=3, act_bounds=_no_bounds,
    emit=_act_emitter(3, _no_bounds),
))


# -- rprelu: prelu(x - gamma) + zeta, written as affine -> prelu -> affine


def _rprelu_type():
    from dirnet.nn import RPReLU

    return (RPReLU,)


def _write_rprelu(w, node, m, name: str, x: str) -> str:
    qual = str(node.target)
    r = w.rank[x]
    if m.has_uninitialized_params():
        raise ExportError(f"RPReLU {qual!r} is not initialised (run one forward pass first)")
    one = np.ones(m.gamma.numel(), np.float32)
    y = w.emit("affine", w.unique(qual + ".shift_in"), [x], r, {"channels": one.size},
               {"scale": w.tensor(name, "one", one),
                "shift": w.tensor(name, "neg_gamma", -np32(m.gamma))})
    y = w.emit("prelu", name, [y], r, {},
               {"slope": w.tensor(name, "slope", np32(m.slope))})
    return w.emit("affine", w.unique(qual + ".shift_out"), [y], r, {"channels": one.size},
                  {"scale": f"{name}.one",
                   "shift": w.tensor(name, "zeta", np32(m.zeta))})


register(OpSpec("rprelu", modules=_rprelu_type, leaf=True, write_module=_write_rprelu,
                supports="RPReLU", doc_order=34))
