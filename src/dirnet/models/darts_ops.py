"""Candidate operations of DARTS cells, with a configurable activation.

The original ops are act-conv-BN with ReLU. In a binary network the conv takes
sign() of its input and sign(relu(x)) is constant +1, so the zoo uses Hardtanh
by default (``act`` switches it). Depthwise convs (grouped) stay full precision
under ``dirnet.binarize``; the 1x1 pointwise convs become binary; the 1x1
stride-2 convs of FactorizedReduce stay full precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .activation import make_activation


class ActConvBN(nn.Sequential):
    """act -> conv -> BN (DARTS' ReLUConvBN)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, act: str):
        super().__init__(
            make_activation(act),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class DilConv(nn.Sequential):
    """act -> dilated depthwise conv -> 1x1 pointwise conv -> BN."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int, act: str
    ):
        super().__init__(
            make_activation(act),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )


class SepConv(nn.Sequential):
    """Two stacked (act, depthwise, pointwise, BN) units; only the first strides."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, act: str):
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, act),
            DilConv(c_in, c_out, kernel, 1, padding, 1, act),
        )


class Zero(nn.Module):
    """The 'none' op: zeros of the (strided) input's shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return x * 0.0


class FactorizedReduce(nn.Module):
    """Halve the resolution with two 1x1 stride-2 convs on pixel grids offset by one.

    The shifted branch pads one zero row/column at the end so that odd input
    sizes work too; for even sizes it equals DARTS' ``x[:, :, 1:, 1:]``.
    """

    def __init__(self, c_in: int, c_out: int, act: str) -> None:
        super().__init__()
        self.act = make_activation(act)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, 2, 0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, 2, 0, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(name: str, channels: int, stride: int, act: str) -> nn.Module:
    """Build the DARTS primitive ``name`` mapping ``channels`` -> ``channels``."""
    c = channels
    if name == "none":
        return Zero(stride)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, act)
    if name == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, 1, act)
    if name == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, 2, act)
    if name == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2, act)
    if name == "dil_conv_5x5":
        return DilConv(c, c, 5, stride, 4, 2, act)
    raise ValueError(f"unknown DARTS op {name!r}")
