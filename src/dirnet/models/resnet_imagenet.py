"""ImageNet ResNet-18/34 in the binary-friendly (Bi-Real) form.

FP 7x7 stride-2 stem + BN + Hardtanh + 3x3/2 maxpool, Bi-Real basic blocks in
four stages (64/128/256/512), downsample shortcut = FP 1x1 stride-2 conv + BN,
adaptive average pool, Flatten, BatchNorm1d(512), FP Linear. Input 224x224.

``cifar=True`` (or ``stem="cifar"``) swaps in a 3x3 stride-1 stem and drops the
maxpool, the usual form for 32x32 inputs (final feature map 4x4).
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import boolean, positive_int
from .activation import check_activation, make_activation
from .bireal_block import BiRealBlock
from .init import init_weights
from .registry import register

_STEMS = ("imagenet", "cifar")


class ImageNetResNet(nn.Module):
    """Bi-Real ResNet with basic blocks; ``stage_names`` lists the RBD alignment points."""

    stage_names: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4")

    def __init__(
        self,
        blocks: tuple[int, int, int, int],
        num_classes: int = 1000,
        in_channels: int = 3,
        stem: str = "imagenet",
        width: int = 64,
        act: str = "hardtanh",
    ) -> None:
        super().__init__()
        if stem not in _STEMS:
            raise ValueError(f"stem must be one of {_STEMS}, got {stem!r}")
        positive_int("num_classes", num_classes)
        positive_int("in_channels", in_channels)
        positive_int("width", width)
        check_activation(act)
        self.stem_kind = stem
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = make_activation(act)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if stem == "imagenet" else nn.Identity()
        c_in = width
        stages = []
        for i, n in enumerate(blocks):
            c_out = width * 2**i
            stride = 1 if i == 0 else 2
            layer = []
            for j in range(n):
                s = stride if j == 0 else 1
                if s != 1 or c_in != c_out:
                    short: nn.Module = nn.Sequential(
                        nn.Conv2d(c_in, c_out, 1, s, 0, bias=False), nn.BatchNorm2d(c_out)
                    )
                else:
                    short = nn.Identity()
                layer.append(BiRealBlock(c_in, c_out, s, short, act))
                c_in = c_out
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.bn2 = nn.BatchNorm1d(c_in)
        self.fc = nn.Linear(c_in, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.bn2(self.flatten(self.avgpool(x))))


def _resolve_stem(cifar: bool, stem: str | None) -> str:
    boolean("cifar", cifar)
    if stem is None:
        return "cifar" if cifar else "imagenet"
    if stem not in _STEMS:
        raise ValueError(f"stem must be one of {_STEMS}, got {stem!r}")
    if cifar and stem != "cifar":
        raise ValueError(f"cifar=True contradicts stem={stem!r}")
    return stem


def _builder(depth: int, blocks: tuple[int, int, int, int]):
    def build(
        num_classes: int = 10,
        in_channels: int = 3,
        cifar: bool = False,
        stem: str | None = None,
        width: int = 64,
        act: str = "hardtanh",
    ) -> ImageNetResNet:
        return ImageNetResNet(
            blocks, num_classes, in_channels, _resolve_stem(cifar, stem), width, act
        )

    build.__name__ = f"resnet{depth}"
    build.__doc__ = (
        f"ResNet-{depth} (Bi-Real blocks), ImageNet form by default (224x224). Options: "
        "cifar / stem='cifar' (3x3 stride-1 stem, no maxpool, for 32x32), in_channels, "
        "width (first-stage width, 64), act ('hardtanh')."
    )
    return build


resnet18 = register("resnet18")(_builder(18, (2, 2, 2, 2)))
resnet34 = register("resnet34")(_builder(34, (3, 4, 6, 3)))
