"""VGG-Small (Zhang et al., LQ-Nets; the CIFAR-10 network of IR-Net/DIR-Net).

FP conv in_channels->128 + BN + Hardtanh, then 3x3 convs 128-128 (pool),
128-256, 256-256 (pool), 256-512, 512-512 (pool); each conv -> (maxpool) ->
BN -> Hardtanh; Flatten; FP Linear 512*(s/8)^2 -> num_classes, i.e. 8192 for a
32x32 input. All convs 3x3, padding 1, no bias. The classifier's input size is
fixed by ``input_size`` (32 for CIFAR, 28 for Fashion-MNIST).
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import positive_int
from .activation import check_activation, make_activation
from .init import init_weights
from .registry import register

# (out_channels, maxpool after the conv)
_CFG: tuple[tuple[int, bool], ...] = (
    (128, False),
    (128, True),
    (256, False),
    (256, True),
    (512, False),
    (512, True),
)


@register("vgg_small")
class VGGSmall(nn.Module):
    """Six 3x3 convs and one linear; ``stage_names`` are the three pooled stages' last BN-act.

    Options: in_channels, input_size (32; sets the Linear's 512*(s/8)^2 inputs),
    width (128; all widths scale with it), act ('hardtanh').
    """

    stage_names: tuple[str, ...] = ("features.act1", "features.act3", "features.act5")

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        input_size: int = 32,
        width: int = 128,
        act: str = "hardtanh",
    ) -> None:
        super().__init__()
        positive_int("num_classes", num_classes)
        positive_int("in_channels", in_channels)
        positive_int("input_size", input_size)
        positive_int("width", width)
        check_activation(act)
        if input_size < 8:
            raise ValueError(f"VGG-Small needs input_size >= 8 (three 2x2 pools), got {input_size}")
        layers: dict[str, nn.Module] = {}
        c_in = in_channels
        for i, (c, pool) in enumerate(_CFG):
            c_out = c * width // 128
            layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)
            if pool:
                layers[f"pool{i}"] = nn.MaxPool2d(2, 2)
            layers[f"bn{i}"] = nn.BatchNorm2d(c_out)
            layers[f"act{i}"] = make_activation(act)
            c_in = c_out
        self.features = nn.Sequential()
        for name, module in layers.items():
            self.features.add_module(name, module)
        self.flatten = nn.Flatten(1)
        side = input_size // 8
        self.fc = nn.Linear(c_in * side * side, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.features(x)))
