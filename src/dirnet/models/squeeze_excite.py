"""Squeeze-and-excitation gate (Hu et al., 2018) as used by EfficientNet."""

from __future__ import annotations

import torch
from torch import nn

from .activation import make_activation


class SqueezeExcite(nn.Module):
    """x * sigmoid(conv2(act(conv1(mean_hw(x))))): a per-channel gate from global context.

    ``reduce`` and ``expand`` are 1x1 convs with bias; ``dirnet.binarize`` treats
    them like any 1x1 conv (binary) unless the caller keeps them full precision.
    """

    def __init__(self, channels: int, squeezed: int, act: str = "silu") -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeezed, 1, bias=True)
        self.act = make_activation(act)
        self.expand = nn.Conv2d(squeezed, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))
