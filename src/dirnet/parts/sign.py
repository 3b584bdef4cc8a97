"""The forward binarizer: sign with sign(0) = +1, and its autograd wrapper.

A 1-bit kernel has no third value, so exact zeros must map to +1 here too,
otherwise training and deployment compute different numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from dirnet.parts.estimators import GradientEstimator


def _write_sign(x: Tensor, out: Tensor) -> Tensor:
    # ge into a float buffer, then 2b - 1: about 10x faster on CPU than
    # torch.where with scalar operands, and exact.
    torch.ge(x, 0, out=out)
    return out.mul_(2.0).sub_(1.0)


def sign_pm1(x: Tensor) -> Tensor:
    """Return +1 where ``x >= 0`` and -1 elsewhere, in ``x``'s dtype."""
    return _write_sign(x, torch.empty_like(x, memory_format=torch.contiguous_format))


def sign_pm1_padded(x: Tensor, pads: tuple[int, int, int, int], value: float) -> Tensor:
    """``F.pad(sign_pm1(x), pads, value=value)`` for NCHW ``x``, written in one pass.

    The signs go straight into the interior of the padded buffer and only the
    border strips are filled, which saves a full copy per binary conv.
    """
    left, right, top, bottom = pads
    n, c, h, w = x.shape
    out = x.new_empty((n, c, h + top + bottom, w + left + right))
    if top:
        out[:, :, :top].fill_(value)
    if bottom:
        out[:, :, top + h:].fill_(value)
    if left:
        out[:, :, top:top + h, :left].fill_(value)
    if right:
        out[:, :, top:top + h, left + w:].fill_(value)
    _write_sign(x, out[:, :, top:top + h, left:left + w])
    return out


class _SignWithEstimator(torch.autograd.Function):
    """Forward: ``sign_pm1(x)`` (optionally padded). Backward: ``grad * est'(x * s) * s``.

    ``inv_scale`` s (optional, broadcastable) implements a distribution-sensitive
    estimator: the soft region follows the spread of the tensor being binarized.
    Only ``x`` (and the small ``inv_scale``) are saved for backward. With
    ``pads`` the output is the padded sign map a one-padded conv consumes, and
    the border's gradient (it is a constant) is simply dropped.
    """

    @staticmethod
    def forward(ctx, x: Tensor, estimator: GradientEstimator, inv_scale: Tensor | None,
                pads: tuple[int, int, int, int] | None = None, pad_value: float = 1.0):
        ctx.estimator = estimator
        ctx.pads = pads
        ctx.save_for_backward(x, inv_scale)
        return sign_pm1(x) if pads is None else sign_pm1_padded(x, pads, pad_value)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, inv_scale = ctx.saved_tensors
        if ctx.pads is not None:
            left, _, top, _ = ctx.pads
            grad = grad[:, :, top:top + x.shape[2], left:left + x.shape[3]]
        est: GradientEstimator = ctx.estimator
        return est.backward_grad(x, grad, inv_scale), None, None, None, None


def binarize_with(
    x: Tensor,
    estimator: GradientEstimator,
    inv_scale: Tensor | None = None,
    pads: tuple[int, int, int, int] | None = None,
    pad_value: float = 1.0,
) -> Tensor:
    """Binarize ``x`` to ±1 with ``estimator`` as the backward approximation of sign.

    ``pads`` = (left, right, top, bottom) pads the NCHW result with ``pad_value``.
    """
    return _SignWithEstimator.apply(x, estimator, inv_scale, pads, pad_value)
