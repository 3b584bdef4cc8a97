"""int8 ``Conv2d`` (groups = 1) and ``Linear``: file ops ``qconv2d`` and ``qlinear``.

Written instead of ``conv2d`` / ``linear`` by an int8 export
(``export(..., precision="int8", calibration=...)``) for every module the
calibration measured (:mod:`dirnet.deploy.calibrate`). New op names rather
than an int8 dtype of ``conv2d``: a dirnet without int8 kernels refuses the
file ("unknown op type") instead of misreading it.

Attributes: those of ``conv2d`` (``qlinear``: ``in_features``,
``out_features``). Tensors: ``weight`` int8 ``[out, in, kh, kw]`` (``[out,
in]``) in [-127, 127], ``weight_scale`` fp32 ``[out]``, ``input_scale`` fp32
``[1]``, optional fp32 ``bias``. The native op lives in csrc/core/ops/qconv2d/.
"""
from __future__ import annotations

import numpy as np
from torch import nn

from dirnet.deploy.ops.base import np32


def _tensors(w, m: nn.Module, name: str, scale: float) -> dict[str, str]:
    from dirnet.deploy.calibrate import quantize_weight

    q, s = quantize_weight(m.weight)
    t = {"weight": w.tensor(name, "weight", q), "weight_scale": w.tensor(name, "weight_scale", s),
         "input_scale": w.tensor(name, "input_scale", np.array([scale], dtype=np.float32))}
    if m.bias is not None:
        t["bias"] = w.tensor(name, "bias", np32(m.bias))
    return t


def write_qconv(w, m: nn.Conv2d, name: str, x: str, pads: tuple[int, int, int, int], scale: float) -> str:
    return w.emit("qconv2d", name, [x], 4, {
        "in_channels": m.in_channels, "out_channels": m.out_channels,
        "kernel": list(m.kernel_size), "stride": list(m.stride), "padding": list(pads),
        "dilation": list(m.dilation)}, _tensors(w, m, name, scale))


def write_qlinear(w, m: nn.Linear, name: str, x: str, scale: float) -> str:
    return w.emit("qlinear", name, [x], 2, {"in_features": m.in_features, "out_features": m.out_features},
                  _tensors(w, m, name, scale))
