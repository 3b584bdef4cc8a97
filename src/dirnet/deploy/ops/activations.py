"""Activations: ``Hardtanh`` / ``ReLU6`` (file op ``hardtanh``), ``ReLU`` (``relu``), ``PReLU``
(``prelu``) and ``RPReLU`` (written as affine -> prelu -> affine).

The native planner fuses file activations into a preceding conv's epilogue;
on their own they are an eltwise op (csrc/core/ops/activations/).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec, np32

# -- hardtanh


def _write_hardtanh_module(w, node, m: nn.Hardtanh, name: str, x: str) -> str:
    return w.emit("hardtanh", name, [x], w.rank[x], {"min": float(m.min_val), "max": float(m.max_val)})


def _write_hardtanh_call(w, name, x, args, kwargs, fname):
    lo = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
    hi = kwargs.get("max_val", args[2] if len(args) > 2 else 1.0)
    return w.emit("hardtanh", name, [x], w.rank[x], {"min": float(lo), "max": float(hi)})



register(OpSpec(
    "hardtanh", modules=lambda: (nn.Hardtanh,), write_module=_write_hardtanh_module,
    functions=(F.hardtanh, F.hardtanh_), write_call=_write_hardtanh_call,
    supports="Hardtanh", doc_order=30, supports_calls="hardtanh", calls_order=2,
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



register(OpSpec(
    "prelu", modules=lambda: (nn.PReLU,), write_module=_write_prelu,
    supports="PReLU", doc_order=33,
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
