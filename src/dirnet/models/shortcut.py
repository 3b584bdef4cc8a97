"""Option-A shortcut of the CIFAR ResNets (He et al. 2016).

Parameter-free: spatial subsampling by slicing and zero channel padding. Kept as
its own named module so that deployment code can recognise it (it has no
weights to pack) and torch.fx can trace it (no data-dependent control flow).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import positive_int


class OptionAShortcut(nn.Module):
    """``x[:, :, ::stride, ::stride]`` then zero-pad channels to ``out_channels``.

    The added channels are split evenly before and after the input channels
    (the extra one goes after when the difference is odd), as in the original
    CIFAR ResNet.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2) -> None:
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        self.stride = positive_int("stride", stride)
        if out_channels < in_channels:
            raise ValueError(
                f"OptionAShortcut can only add channels, got {in_channels} -> {out_channels}"
            )
        extra = out_channels - in_channels
        self.pad_before = extra // 2
        self.pad_after = extra - extra // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:  # constant per module, so fx traces it
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad_before or self.pad_after:
            x = F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))
        return x

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
