"""MobileNet V1 (Howard et al., 2017) with activations as modules.

Stem: FP 3x3 stride-2 conv 3->32 + BN + act; then 13 depthwise-separable
blocks (3x3 depthwise conv + BN + act, 1x1 pointwise conv + BN + act) with
widths 64, 128, 128, 256, 256, 512 x6, 1024, 1024; global average pool,
Flatten, Dropout, FP Linear.

Binarization (``dirnet.binarize``): depthwise convs are grouped, so they stay
full precision; the 1x1 pointwise convs become binary; the stem conv and the
classifier stay full precision.

Defaults: ``act="hardtanh"`` (not the original ReLU, which would make every
sign() input non-negative and thus every binary activation +1);
``small_input=False`` (ImageNet form, 224x224, total stride 32). With
``small_input=True`` the stem and the first stride-2 block use stride 1
(total stride 8: 4x4 final map for 32x32 inputs).
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

# (out_channels, stride) of the 13 depthwise-separable blocks
_CFG: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv (FP when binarized) then 1x1 pointwise conv (binary)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, act: str) -> None:
        super().__init__()
        self.dw = nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = make_activation(act)
        self.pw = nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.dw(x)))
        return self.act2(self.bn2(self.pw(x)))


@register("mobilenet_v1")
class MobileNetV1(PooledClassifier):
    """MobileNet V1; ``stage_names`` are the last block of each resolution.

    Options: in_channels, width_mult (1.0), small_input (False; True for 32x32),
    act ('hardtanh'), dropout (0.0).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width_mult: float = 1.0,
        small_input: bool = False,
        act: str = "hardtanh",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_mobile_args(num_classes, in_channels, width_mult, dropout, act, small_input)
        c_stem = make_divisible(32 * width_mult)
        self.stem = conv_bn_act(in_channels, c_stem, 3, 1 if small_input else 2, act)
        strides = small_input_strides([s for _, s in _CFG], small_input)
        blocks = []
        c_in = c_stem
        for (c, _), s in zip(_CFG, strides):
            c_out = make_divisible(c * width_mult)
            blocks.append(DepthwiseSeparable(c_in, c_out, s, act))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.stage_names = stage_ends(strides)
        self.add_classifier(c_in, num_classes, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(self.stem(x)))
