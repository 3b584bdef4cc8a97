"""MobileNet V2 (Sandler et al., 2018) with activations as modules.

Stem: FP 3x3 stride-2 conv -> 32 + BN + act; 17 inverted-residual blocks
(1x1 expand + BN + act, 3x3 depthwise + BN + act, 1x1 linear projection + BN;
identity residual when stride 1 and widths match); 1x1 conv -> 1280 + BN + act;
global average pool, Flatten, Dropout(0.2), FP Linear.

Binarization (``dirnet.binarize``): depthwise convs stay full precision
(grouped); the expand/projection 1x1 convs and the final 1x1 conv become
binary; the stem conv and the classifier stay full precision.

Defaults: ``act="hardtanh"`` instead of ReLU6 (sign of a ReLU6 output is
always +1, so the projection conv would see a constant binary input);
``small_input=False`` (ImageNet form, 224x224). ``small_input=True`` sets the
stem and the first stride-2 stage to stride 1 (total stride 8, 4x4 final map
for 32x32 inputs).
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_mobile_args
from .activation import conv_bn_act, make_activation
from .init import init_weights
from .mobile_layout import PooledClassifier, small_input_strides, stage_ends
from .registry import register
from .width import make_divisible

# (expansion t, out_channels c, repeats n, first stride s)
_CFG: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise (3x3) -> project (1x1, linear); residual if shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int, act: str):
        super().__init__()
        hidden = in_channels * expansion
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [
                nn.Conv2d(in_channels, hidden, 1, 1, 0, bias=False),
                nn.BatchNorm2d(hidden),
                make_activation(act),
            ]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            make_activation(act),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:  # fixed at build time, so fx traces it
            return x + self.conv(x)
        return self.conv(x)


@register("mobilenet_v2")
class MobileNetV2(PooledClassifier):
    """MobileNet V2; ``stage_names`` are the last block of each resolution.

    Options: in_channels, width_mult (1.0), small_input (False; True for 32x32),
    act ('hardtanh'), dropout (0.2).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width_mult: float = 1.0,
        small_input: bool = False,
        act: str = "hardtanh",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_mobile_args(num_classes, in_channels, width_mult, dropout, act, small_input)
        c_stem = make_divisible(32 * width_mult)
        self.stem = conv_bn_act(in_channels, c_stem, 3, 1 if small_input else 2, act)
        blocks: list[nn.Module] = []
        strides: list[int] = []
        c_in = c_stem
        stage_strides = small_input_strides([s for *_, s in _CFG], small_input)
        for (t, c, n, _), s in zip(_CFG, stage_strides):
            c_out = make_divisible(c * width_mult)
            for i in range(n):
                blocks.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t, act))
                strides.append(s if i == 0 else 1)
                c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.stage_names = stage_ends(strides)
        c_last = make_divisible(1280 * max(1.0, width_mult))
        self.head = conv_bn_act(c_in, c_last, 1, 1, act)
        self.add_classifier(c_last, num_classes, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.head(self.features(self.stem(x))))
