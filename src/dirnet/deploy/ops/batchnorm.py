"""``BatchNorm1d/2d`` in eval mode: file op ``affine`` (per-channel ``fma(x, scale, shift)``)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import ExportError, OpSpec


def bn_affine(m: nn.modules.batchnorm._BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """Eval-mode BatchNorm as ``fma(x, scale, shift)`` with PyTorch's own fp32 values.

    PyTorch's CPU kernel computes ``scale = weight * (1 / sqrt(var + eps))``
    in fp32 (``var + eps`` rounded from double) and ``shift = fma(-mean,
    scale, bias)``, then ``fma(x, scale, shift)``. With the same two vectors, a binary conv's exact integer output
    goes through BN to the very same fp32 value, so the next layer's signs
    agree bit for bit. ``shift`` is read off the module itself (its output
    for x = 0), which also covers the rounding of its own fp32 arithmetic.
    """
    f32 = np.float32
    var = m.running_var.detach().float().numpy()
    w = m.weight.detach().float().numpy() if m.weight is not None else np.ones_like(var)
    # var + eps summed in double and rounded to float, then 1 / sqrt in float
    # with IEEE rounding (numpy's): the order of PyTorch 2.x's CPU kernel
    # (torch's own vectorised sqrt can differ by an ulp), checked bit for bit
    # by tests/test_deploy.py::test_binary_body_is_bit_exact_through_batchnorm.
    invstd = f32(1) / np.sqrt((var.astype(np.float64) + m.eps).astype(f32))
    scale = (invstd * w).astype(f32)
    with torch.no_grad():
        zero = torch.zeros(1, var.size, 2, 2, dtype=torch.float32)  # the NCHW kernel, not 1x1's
        shift = F.batch_norm(zero, m.running_mean.detach().float(), m.running_var.detach().float(),
                             m.weight.detach().float() if m.weight is not None else None,
                             m.bias.detach().float() if m.bias is not None else None,
                             training=False, eps=m.eps)[0, :, 0, 0]
    return scale, shift.numpy().astype(np.float32)


def _write_bn(w, node, m, name: str, x: str) -> str:
    qual = str(node.target)
    r = w.rank[x]
    if isinstance(m, nn.BatchNorm1d) and r != 2:
        raise ExportError(f"BatchNorm1d {qual!r} on a {r}-D tensor is not supported (only (N, C))")
    if m.running_mean is None or m.running_var is None:
        raise ExportError(f"BatchNorm {qual!r} has no running statistics (track_running_stats=False)")
    a, shift = bn_affine(m)
    t = {"scale": w.tensor(name, "scale", a),
         "shift": w.tensor(name, "shift", shift)}
    return w.emit("affine", name, [x], r, {"channels": int(a.size)}, t)



register(OpSpec(
    "affine", modules=lambda: (nn.BatchNorm2d, nn.BatchNorm1d), write_module=_write_bn,
    supports="BatchNorm1d/2d", doc_order=20,
))
