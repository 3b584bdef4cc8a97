"""Weight transforms: what happens to a latent weight before its sign is taken.

A transform maps the latent weight W (out_channels first) to ``(W_t, scale)``:
the binary weight is ``scale[c] * sign(W_t[c])``. ``scale`` is detached.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def _per_channel_view(w: Tensor) -> Tensor:
    return w.reshape(w.shape[0], -1)


class WeightTransform(nn.Module):
    name = "base"

    def forward(self, w: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


class NoTransform(WeightTransform):
    """Plain sign of the latent weight, scale 1 (BNN)."""

    name = "none"

    def forward(self, w: Tensor) -> tuple[Tensor, Tensor]:
        return w, torch.ones(w.shape[0], dtype=w.dtype, device=w.device)


class XNORScale(WeightTransform):
    """XNOR-Net: scale each output channel by the mean absolute latent weight (detached)."""

    name = "xnor"

    def forward(self, w: Tensor) -> tuple[Tensor, Tensor]:
        return w, _per_channel_view(w.detach()).abs().mean(dim=1)


class IMB(WeightTransform):
    """Information Maximized Binarization (IR-Net's Libra-PB for weights).

    Per output channel: balance (subtract the mean, so about half the signs are
    +1: maximum entropy), standardize by the unbiased std plus ``eps``, and
    scale by the power of two nearest to ``mean(|W_std|)`` (detached, so it is
    a bit shift at inference). Gradients flow through the mean and the std.
    """

    name = "imb"

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = float(eps)

    def standardize(self, w: Tensor) -> Tensor:
        flat = _per_channel_view(w)
        centred = flat - flat.mean(dim=1, keepdim=True)
        std = centred.std(dim=1, keepdim=True)
        return (centred / (std + self.eps)).view_as(w)

    def forward(self, w: Tensor) -> tuple[Tensor, Tensor]:
        w_std = self.standardize(w)
        return w_std, power_of_two_scale(w_std.detach())

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"


def power_of_two_scale(w_std: Tensor) -> Tensor:
    """``2 ** round(log2(mean |w_std|))`` per output channel (a constant filter gets 2**-126)."""
    mean_abs = _per_channel_view(w_std).abs().mean(dim=1)
    tiny = torch.finfo(torch.float32).tiny
    return torch.exp2(torch.round(torch.log2(mean_abs.float().clamp_min(tiny)))).to(w_std.dtype)


WEIGHT_TRANSFORMS: dict[str, Callable[..., WeightTransform]] = {
    "none": NoTransform,
    "xnor": XNORScale,
    "imb": IMB,
}


def make_weight_transform(name: str) -> WeightTransform:
    try:
        return WEIGHT_TRANSFORMS[name]()
    except KeyError:
        raise KeyError(
            f"unknown weight transform {name!r}; choose one of {sorted(WEIGHT_TRANSFORMS)}"
        ) from None
