"""Stochastic depth (drop-path): zero a whole residual branch per sample.

Off (p = 0) by default in every model of the zoo: it is an identity then, and
fx traces it to nothing data dependent.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import probability


class DropPath(nn.Module):
    """Drop the branch of each sample with probability ``p`` in training, rescale the rest."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = probability("drop-path probability", p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype)
        return x * mask.bernoulli_(keep) / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"
