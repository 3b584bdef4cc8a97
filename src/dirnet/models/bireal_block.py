"""Bi-Real basic block: a real-valued shortcut around EACH 3x3 conv.

    out = act1(bn1(conv1(x)) + shortcut(x))
    out = act2(bn2(conv2(out)) + out)

The extra shortcut keeps a real-valued path through every binary conv (Liu et
al., Bi-Real Net, 2018), which is what IR-Net/DIR-Net use for ResNets. Convs
have no bias because BatchNorm follows.
"""

from __future__ import annotations

import torch
from torch import nn

from .activation import make_activation


class BiRealBlock(nn.Module):
    """Two 3x3 convs, each wrapped by its own shortcut; ``shortcut`` handles stride/width."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: nn.Module | None = None,
        act: str = "hardtanh",
    ) -> None:
        super().__init__()
        if shortcut is None:
            if stride != 1 or in_channels != out_channels:
                raise ValueError(
                    "BiRealBlock needs a shortcut module when stride != 1 or channels change "
                    f"(got {in_channels}->{out_channels}, stride {stride})"
                )
            shortcut = nn.Identity()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut
        self.act1 = make_activation(act)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)) + self.shortcut(x))
        return self.act2(self.bn2(self.conv2(out)) + out)
