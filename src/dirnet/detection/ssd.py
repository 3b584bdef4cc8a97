"""SSD-style single-shot detectors on the zoo's Bi-Real ResNets (registered in the zoo).

    backbone (zoo ResNet stem + stages) -> feature maps of its last stages
    extras: Bi-Real blocks of stride 2 (3x3 convs + a 1x1/2 conv + BN shortcut), one per level
    head:   per level a 3x3 conv for box offsets (head.loc.i) and one for class logits (head.conf.i)

``forward(x)`` returns ``(loc (B, A, 4), conf (B, A, num_classes + 1))``; the
last logit is background. ``model.anchors`` (a non-persistent buffer, so not in
checkpoints) holds the A default boxes in the order of the outputs.

Binarization follows the published binary detectors (BiDet, BiBench): the
first conv, the 1x1 stride-2 shortcut convs and the prediction convs stay full
precision. ``dirnet.binarize`` keeps the first two by default; the heads need
``binarize(model, method, keep=model.binarize_keep)``.

Registered (6 levels each, 38/19/10/5/3/2 at 300 px, 20/10/5/3/2/1 at 160 px):
``ssd_resnet18`` (the zoo's ImageNet ResNet-18; maps of layer2, layer3 and
layer4 at stride 8/16/32, like SSD300's 38x38 first map, + 3 extras of 256
channels) and ``ssd_resnet20`` (light: the CIFAR ResNet-20 stages behind a
stride-4 stem, 3x3/2 conv + 3x3/2 max pool; maps of layer2 and layer3 at
stride 8/16 + 4 extras). Importing this module registers them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from dirnet.models import BiRealBlock, create, register
from dirnet.models.activation import check_activation

from .anchors import anchor_scales, anchors_per_location, default_aspect_ratios, default_boxes

__all__ = ["SSD", "ResNetFeatures"]

#: backbone -> (zoo name, stages whose outputs are detection maps, total stride of the first)
_BACKBONES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "resnet18": ("resnet18", ("layer2", "layer3", "layer4"), 8),
    "resnet20": ("resnet20", ("layer2", "layer3"), 8),
}


class ResNetFeatures(nn.Module):
    """The stem and stages of a zoo ResNet; ``forward`` returns the maps of ``out_stages``.

    Module names are the zoo model's (conv1, bn1, act1, maxpool, layer1...), so
    a classifier's state_dict loads into it once its head (bn2, fc) is dropped.
    """

    def __init__(self, net: nn.Module, out_stages: Sequence[str], stem_stride: int | None = None,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.conv1, self.bn1, self.act1 = net.conv1, net.bn1, net.act1
        self.maxpool = getattr(net, "maxpool", nn.Identity())
        if stem_stride is not None:  # CIFAR stem at stride 1 is too costly on 160+ px inputs
            width = net.conv1.out_channels
            self.conv1 = nn.Conv2d(in_channels, width, 3, 2, 1, bias=False)
            nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
            self.maxpool = nn.MaxPool2d(3, 2, 1) if stem_stride == 4 else nn.Identity()
        self.stages = tuple(n for n in ("layer1", "layer2", "layer3", "layer4") if hasattr(net, n))
        for name in self.stages:
            setattr(self, name, getattr(net, name))
        self.out_stages = tuple(out_stages)

    def channels(self, stage: str) -> int:
        return [m for m in getattr(self, stage).modules() if isinstance(m, nn.BatchNorm2d)][-1] \
            .num_features

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        feats = []
        for name in self.stages:
            x = getattr(self, name)(x)
            if name in self.out_stages:
                feats.append(x)
        return feats


class SSD(nn.Module):
    """Single-shot detector; see the module doc. ``num_classes`` counts foreground classes.

    ``stage_names`` (RBD alignment points): the backbone stages, then each extra
    level. ``binarize_keep``: name patterns the trainer passes as ``keep=``.
    """

    binarize_keep: tuple[str, ...] = ("head.*",)

    def __init__(
        self,
        backbone: str = "resnet18",
        num_classes: int = 20,
        in_channels: int = 3,
        input_size: int = 300,
        width: int | None = None,
        act: str = "hardtanh",
        extra_channels: Sequence[int] | None = None,
        min_scale: float = 0.1,
        max_scale: float = 0.9,
        aspect_ratios: Sequence[Sequence[float]] | None = None,
        clip_anchors: bool = True,
    ) -> None:
        super().__init__()
        if backbone not in _BACKBONES:
            raise ValueError(f"backbone must be one of {sorted(_BACKBONES)}, got {backbone!r}")
        for name, v in (("num_classes", num_classes), ("in_channels", in_channels),
                        ("input_size", input_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if input_size < 32:
            raise ValueError(f"input_size must be >= 32, got {input_size}")
        check_activation(act)
        zoo_name, out_stages, stride = _BACKBONES[backbone]
        opts = {} if width is None else {"width": width}
        net = create(zoo_name, num_classes=1, in_channels=in_channels, act=act, **opts)
        light = backbone == "resnet20"
        self.backbone = ResNetFeatures(net, out_stages, 4 if light else None, in_channels)
        chans = [self.backbone.channels(s) for s in out_stages]
        if extra_channels is None:
            top = chans[-1]
            extra_channels = (2 * top, top, top, top) if light else (256, 256, 256)
        self.extras = nn.ModuleList()
        c_in = chans[-1]
        for c_out in extra_channels:
            short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, 2, 0, bias=False), nn.BatchNorm2d(c_out))
            self.extras.append(BiRealBlock(c_in, c_out, 2, short, act))
            nn.init.kaiming_normal_(short[0].weight, mode="fan_out", nonlinearity="relu")
            c_in = c_out
        chans += list(extra_channels)
        levels = len(chans)
        sizes = [math.ceil(input_size / stride)]
        for _ in range(levels - 1):  # every later stage / extra halves the map (ceil)
            sizes.append(math.ceil(sizes[-1] / 2))
        ratios = [tuple(float(r) for r in a) for a in
                  (aspect_ratios if aspect_ratios is not None else default_aspect_ratios(levels))]
        if len(ratios) != levels:
            raise ValueError(f"aspect_ratios needs {levels} lists (one per level), got {len(ratios)}")
        self.num_classes = num_classes
        self.input_size = input_size
        self.feature_sizes = tuple(sizes)
        self.aspect_ratios = tuple(ratios)
        self.scales = tuple(anchor_scales(levels, min_scale, max_scale))
        per_loc = [anchors_per_location(r) for r in ratios]
        self.head = nn.Module()
        self.head.loc = nn.ModuleList(nn.Conv2d(c, n * 4, 3, 1, 1) for c, n in zip(chans, per_loc))
        self.head.conf = nn.ModuleList(
            nn.Conv2d(c, n * (num_classes + 1), 3, 1, 1) for c, n in zip(chans, per_loc))
        for m in self.head.modules():  # small outputs at first: uniform scores, anchor boxes
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        self.register_buffer("anchors", default_boxes(sizes, ratios, self.scales, clip_anchors),
                             persistent=False)
        self.stage_names: tuple[str, ...] = (
            *(f"backbone.{s}" for s in self.backbone.stages),
            *(f"extras.{i}" for i in range(len(self.extras))))

    @property
    def num_anchors(self) -> int:
        return int(self.anchors.shape[0])

    def load_backbone_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load a zoo classifier's weights (e.g. ImageNet resnet18) into the backbone.

        The classifier head (bn2, fc) is dropped; anything else must match exactly.
        """
        own = {k: v for k, v in state_dict.items() if not k.startswith(("fc.", "bn2."))}
        self.backbone.load_state_dict(own, strict=True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        feats = self.backbone(x)
        for extra in self.extras:
            feats.append(extra(feats[-1]))
        locs, confs = [], []
        for f, loc_conv, conf_conv in zip(feats, self.head.loc, self.head.conf):
            locs.append(loc_conv(f).permute(0, 2, 3, 1).flatten(1))
            confs.append(conf_conv(f).permute(0, 2, 3, 1).flatten(1))
        batch = x.shape[0]
        loc = torch.cat(locs, 1).view(batch, -1, 4)
        conf = torch.cat(confs, 1).view(batch, -1, self.num_classes + 1)
        return loc, conf


register("ssd_resnet18", model_args={"backbone": "resnet18"})(SSD)
register("ssd_resnet20", model_args={"backbone": "resnet20"})(SSD)
