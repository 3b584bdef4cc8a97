"""EfficientNet-B0 (Tan & Le, 2019): MBConv blocks with squeeze-excitation and SiLU.

Stem: FP 3x3 stride-2 conv -> 32 + BN + SiLU; seven stages of MBConv blocks
(expand 1x1 + BN + SiLU, kxk depthwise + BN + SiLU, SE, 1x1 projection + BN,
residual when shapes match); 1x1 conv -> 1280 + BN + SiLU; global average pool,
Flatten, Dropout(0.2), FP Linear.

Binarization (``dirnet.binarize``): depthwise convs stay full precision
(grouped); expand/projection/head 1x1 convs and the SE 1x1 convs become binary;
stem conv and classifier stay full precision. To keep the squeeze-excitation
convs in full precision: ``dirnet.binarize(model, keep=["*.se.*"])``. SiLU keeps the sign
of its input, so it is binary-friendly and stays the default.

Defaults: ``small_input=False`` (ImageNet form, 224x224); ``small_input=True``
sets the stem and the first stride-2 stage to stride 1 (4x4 final map for
32x32). Drop-path (stochastic depth) is off (``drop_path_rate=0``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_mobile_args, positive_float, probability
from .activation import conv_bn_act, make_activation
from .drop_path import DropPath
from .init import init_weights
from .mobile_layout import PooledClassifier, small_input_strides, stage_ends
from .registry import register
from .squeeze_excite import SqueezeExcite
from .width import make_divisible

# (expansion, kernel, stride, out_channels, repeats) of EfficientNet-B0
_CFG_B0: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


class MBConv(nn.Module):
    """Mobile inverted bottleneck with SE; residual (+ drop-path) when stride 1 and widths match."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        expansion: int,
        se_ratio: float,
        act: str,
        drop_path: float,
    ) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.use_residual = stride == 1 and in_channels == out_channels
        if expansion != 1:
            self.expand: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, hidden, 1, 1, 0, bias=False),
                nn.BatchNorm2d(hidden),
                make_activation(act),
            )
        else:
            self.expand = nn.Identity()
        self.dw = nn.Sequential(
            nn.Conv2d(
                hidden, hidden, kernel_size, stride, kernel_size // 2, groups=hidden, bias=False
            ),
            nn.BatchNorm2d(hidden),
            make_activation(act),
        )
        squeezed = max(1, int(in_channels * se_ratio))
        self.se = SqueezeExcite(hidden, squeezed, act) if se_ratio > 0 else nn.Identity()
        self.project = nn.Sequential(
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False), nn.BatchNorm2d(out_channels)
        )
        self.drop_path = DropPath(drop_path) if self.use_residual else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.se(self.dw(self.expand(x))))
        if self.use_residual:  # fixed at build time, so fx traces it
            return x + self.drop_path(out)
        return out


@register("efficientnet_b0")
class EfficientNet(PooledClassifier):
    """EfficientNet (B0 configuration, scalable by width/depth multipliers).

    Options: in_channels, width_mult/depth_mult (1.0), small_input (False; True
    for 32x32), act ('silu'), se_ratio (0.25; 0 removes SE), dropout (0.2),
    drop_path_rate (0.0 = off).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        small_input: bool = False,
        act: str = "silu",
        se_ratio: float = 0.25,
        dropout: float = 0.2,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        check_mobile_args(num_classes, in_channels, width_mult, dropout, act, small_input)
        positive_float("depth_mult", depth_mult)
        probability("drop_path_rate", drop_path_rate)
        probability("se_ratio", se_ratio)
        c_stem = make_divisible(32 * width_mult)
        self.stem = conv_bn_act(in_channels, c_stem, 3, 1 if small_input else 2, act)
        plan: list[tuple[int, int, int, int, int]] = []  # (t, k, s, c_in, c_out) per block
        c_in = c_stem
        stage_strides = small_input_strides([s for _, _, s, _, _ in _CFG_B0], small_input)
        for (t, k, _, c, n), s in zip(_CFG_B0, stage_strides):
            c_out = make_divisible(c * width_mult)
            for i in range(math.ceil(n * depth_mult)):
                plan.append((t, k, s if i == 0 else 1, c_in, c_out))
                c_in = c_out
        total = len(plan)
        self.features = nn.Sequential(
            *(
                MBConv(ci, co, k, s, t, se_ratio, act, drop_path_rate * i / total)
                for i, (t, k, s, ci, co) in enumerate(plan)
            )
        )
        self.stage_names = stage_ends([p[2] for p in plan])
        c_last = make_divisible(1280 * width_mult)
        self.head = conv_bn_act(c_in, c_last, 1, 1, act)
        self.add_classifier(c_last, num_classes, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.head(self.features(self.stem(x))))
