"""Input and weight quantizers: the two halves of every binary layer (as in Larq).

A quantizer composes the binarization parts of :mod:`dirnet.binarize`; layers
hold one of each and know nothing about how binarization is done.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from dirnet.parts.estimators import GradientEstimator
from dirnet.parts.sign import binarize_with, sign_pm1
from dirnet.parts.weights import WeightTransform


class ActivationQuantizer(nn.Module):
    """``sign(shift(x))`` forward, the estimator backward.

    ``shift`` is an optional learnable threshold (ReActNet's RSign). For a
    distribution-sensitive estimator (DTE) the quantizer keeps a per-channel
    spread sigma: the batch's std while training (detached), a running
    estimate (buffer ``running_sigma``) in eval mode.
    """

    def __init__(
        self,
        channels: int,
        estimator: GradientEstimator,
        shift: nn.Module | None = None,
        channel_dim: int = 1,
        sigma_momentum: float = 0.1,
    ):
        super().__init__()
        self.channels = int(channels)
        self.channel_dim = channel_dim
        self.estimator = estimator
        self.shift = shift
        self.sigma_momentum = float(sigma_momentum)
        if estimator.distribution_sensitive:
            self.register_buffer("running_sigma", torch.ones(self.channels))
        else:
            self.running_sigma = None

    def _broadcast(self, v: Tensor, x: Tensor) -> Tensor:
        shape = [1] * x.dim()
        shape[self.channel_dim] = -1
        return v.view(shape)

    def _inv_sigma(self, x: Tensor) -> Tensor | None:
        if self.running_sigma is None:
            return None
        if self.training:
            dims = [d for d in range(x.dim()) if d != self.channel_dim % x.dim()]
            with torch.no_grad():
                # The spread of 32 samples is as good an estimate as that of the
                # whole batch, at a fraction of the cost (this runs every step).
                # Unbiased std from two sums: much faster than torch.std here.
                sample = x.detach()[:: max(1, x.shape[0] // 32)].float()
                n = sample.numel() // sample.shape[self.channel_dim]
                s1 = sample.sum(dim=dims)
                s2 = sample.square().sum(dim=dims)
                var = (s2 - s1 * s1 / n) / max(n - 1, 1)
                sigma = var.clamp_min_(1e-6).sqrt_()
                self.running_sigma.lerp_(sigma.to(self.running_sigma.dtype), self.sigma_momentum)
        else:
            sigma = self.running_sigma.clamp_min(1e-3)
        return self._broadcast(sigma.reciprocal().to(x.dtype), x)

    def threshold(self) -> Tensor | None:
        """Per-channel threshold b of ``sign(x - b)``, or None (plain sign)."""
        return None if self.shift is None else self.shift.threshold()

    def forward(self, x: Tensor, pads: tuple[int, int, int, int] | None = None,
                pad_value: float = 1.0) -> Tensor:
        """Binarized ``x``; with ``pads`` (NCHW only) already padded with ``pad_value``."""
        if self.shift is not None:
            x = self.shift(x)
        return binarize_with(x, self.estimator, self._inv_sigma(x), pads, pad_value)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class WeightQuantizer(nn.Module):
    """``scale * sign(transform(W))`` forward, the estimator backward on ``transform(W)``."""

    def __init__(self, transform: WeightTransform, estimator: GradientEstimator):
        super().__init__()
        self.transform = transform
        self.estimator = estimator

    def forward(self, w: Tensor) -> Tensor:
        w_t, scale = self.transform(w)
        q = binarize_with(w_t, self.estimator)
        return q * scale.view(-1, *([1] * (w.dim() - 1)))

    @torch.no_grad()
    def binary_weight(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """``(signs, scale)`` with ``signs`` in {-1, +1} and ``scale`` per output channel."""
        w_t, scale = self.transform(w)
        return sign_pm1(w_t), scale.clone()
