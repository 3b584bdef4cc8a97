"""CIFAR ResNet-20/32/44/56 in the binary-friendly (IR-Net / Bi-Real) form.

FP 3x3 stem (in_channels -> 16, no bias) + BN + Hardtanh, three stages of
n = (depth - 2) / 6 Bi-Real blocks with widths 16/32/64 (strides 1/2/2),
option-A shortcuts, global average pool, Flatten, BatchNorm1d(64), FP Linear.
Input 32x32 (any size works: the pool is adaptive).
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import positive_int
from .activation import check_activation, make_activation
from .bireal_block import BiRealBlock
from .init import init_weights
from .registry import register
from .shortcut import OptionAShortcut


class CifarResNet(nn.Module):
    """ResNet for 32x32 inputs; ``stage_names`` lists the modules whose outputs RBD aligns.

    Registered as ``resnet20/32/44/56`` (``depth`` fixed by the name). Options:
    in_channels (1 for Fashion-MNIST), width (first-stage width, 16), act ('hardtanh').
    """

    stage_names: tuple[str, ...] = ("layer1", "layer2", "layer3")

    def __init__(
        self,
        depth: int = 20,
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 16,
        act: str = "hardtanh",
    ) -> None:
        super().__init__()
        positive_int("depth", depth)
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(
                f"CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, ...), got {depth}"
            )
        positive_int("num_classes", num_classes)
        positive_int("in_channels", in_channels)
        positive_int("width", width)
        check_activation(act)
        n = (depth - 2) // 6
        widths = (width, 2 * width, 4 * width)
        self.depth = depth
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = make_activation(act)
        c_in = width
        stages = []
        for c_out, stride in zip(widths, (1, 2, 2)):
            blocks = []
            for i in range(n):
                s = stride if i == 0 else 1
                short = (
                    OptionAShortcut(c_in, c_out, s) if s != 1 or c_in != c_out else nn.Identity()
                )
                blocks.append(BiRealBlock(c_in, c_out, s, short, act))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.bn2 = nn.BatchNorm1d(c_in)
        self.fc = nn.Linear(c_in, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.bn2(self.flatten(self.avgpool(x))))


for _depth in (20, 32, 44, 56):
    register(f"resnet{_depth}", model_args={"depth": _depth})(CifarResNet)
