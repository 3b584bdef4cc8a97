"""The forward binarizer: sign with sign(0) = +1, and its autograd wrapper.

A 1-bit kernel has no third value, so exact zeros must map to +1 here too,
otherwise training and deployment compute different numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from dirnet.binarize.estimators import GradientEstimator


def sign_pm1(x: Tensor) -> Tensor:
    """Return +1 where ``x >= 0`` and -1 elsewhere, in ``x``'s dtype."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class _SignWithEstimator(torch.autograd.Function):
    """Forward: ``sign_pm1(x)``. Backward: ``grad * estimator'(x * inv_scale) * inv_scale``.

    ``inv_scale`` (optional, broadcastable) implements a distribution-sensitive
    estimator: the soft region follows the spread of the tensor being binarized.
    Only ``x`` (and the small ``inv_scale``) are saved for backward.
    """

    @staticmethod
    def forward(ctx, x: Tensor, estimator: "GradientEstimator", inv_scale: Tensor | None):
        ctx.estimator = estimator
        ctx.save_for_backward(x, inv_scale)
        return sign_pm1(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, inv_scale = ctx.saved_tensors
        est: GradientEstimator = ctx.estimator
        if inv_scale is None:
            return est.backward_grad(x, grad), None, None
        g = est.backward_grad(x * inv_scale, grad)
        return g.mul_(inv_scale), None, None


def binarize_with(
    x: Tensor, estimator: "GradientEstimator", inv_scale: Tensor | None = None
) -> Tensor:
    """Binarize ``x`` to ±1 with ``estimator`` as the backward approximation of sign."""
    return _SignWithEstimator.apply(x, estimator, inv_scale)
