"""DARTS evaluation network for CIFAR, built from a genotype (default DARTS-V2).

Stem: FP 3x3 conv in_channels -> 3C + BN. ``layers`` cells; the cells at
layers//3 and 2*layers//3 are reduction cells (stride 2, channels doubled).
Global average pool, Flatten, FP Linear. Input 32x32.

Options: ``C`` (36) initial channels, ``layers`` (20), ``genotype`` (a
Genotype, a dict with its four fields, or 'DARTS_V1'/'DARTS_V2'),
``auxiliary`` (False: with True, training-mode forward returns
``(logits, aux_logits)`` from a head after cell 2*layers//3; eval mode always
returns logits only), ``drop_path_prob`` (0 = off; change it during training
with ``set_drop_path_prob``), ``act`` ('hardtanh', see darts_ops).
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import boolean, positive_int, probability
from .activation import check_activation, make_activation
from .darts_genotype import DARTS_V2, Genotype, resolve_genotype
from .darts_ops import ActConvBN, FactorizedReduce, make_op
from .drop_path import DropPath
from .init import init_weights
from .registry import register


class Cell(nn.Module):
    """One DARTS cell: two preprocessed inputs, ``steps`` nodes of two summed ops each."""

    def __init__(
        self,
        genotype: Genotype,
        c_prev_prev: int,
        c_prev: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
        act: str,
        drop_path_prob: float,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, c, act)
        else:
            self.preprocess0 = ActConvBN(c_prev_prev, c, 1, 1, 0, act)
        self.preprocess1 = ActConvBN(c_prev, c, 1, 1, 0, act)
        pairs = genotype.reduce if reduction else genotype.normal
        concat = genotype.reduce_concat if reduction else genotype.normal_concat
        self.steps = len(pairs) // 2
        self.indices: tuple[int, ...] = tuple(idx for _, idx in pairs)
        self.concat: tuple[int, ...] = tuple(concat)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList()
        self.drop_paths = nn.ModuleList()
        for name, idx in pairs:
            op = make_op(name, c, 2 if reduction and idx < 2 else 1, act)
            self.ops.append(op)
            # DARTS never drops identity edges
            self.drop_paths.append(
                nn.Identity() if isinstance(op, nn.Identity) else DropPath(drop_path_prob)
            )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):  # fixed structure: fx unrolls it
            a, b = 2 * i, 2 * i + 1
            h1 = self.drop_paths[a](self.ops[a](states[self.indices[a]]))
            h2 = self.drop_paths[b](self.ops[b](states[self.indices[b]]))
            states.append(h1 + h2)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS' CIFAR auxiliary classifier (expects the 8x8 maps after the 2nd reduction)."""

    def __init__(self, channels: int, num_classes: int, act: str) -> None:
        super().__init__()
        self.features = nn.Sequential(
            make_activation(act),
            nn.AvgPool2d(5, 3, 0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            make_activation(act),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            make_activation(act),
            nn.AdaptiveAvgPool2d(1),  # 1x1 already for 8x8 inputs; keeps other sizes working
            nn.Flatten(1),
        )
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class DartsNetwork(nn.Module):
    """Stacked DARTS cells; ``stage_names`` are the last cell of each resolution.

    Registered as ``darts`` (DARTS-V2 cell by default) with ``stem_multiplier``
    fixed at 3 (DARTS' CIFAR network). Options: in_channels, C (36), layers (20),
    genotype, auxiliary (False), drop_path_prob (0.0), act ('hardtanh').
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        C: int = 36,
        layers: int = 20,
        genotype: object = DARTS_V2,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        act: str = "hardtanh",
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        positive_int("num_classes", num_classes)
        positive_int("in_channels", in_channels)
        positive_int("C", C)
        positive_int("layers", layers)
        positive_int("stem_multiplier", stem_multiplier)
        probability("drop_path_prob", drop_path_prob)
        check_activation(act)
        boolean("auxiliary", auxiliary)
        self.genotype = resolve_genotype(genotype)
        self.auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        c_curr = stem_multiplier * C
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_curr, 3, 1, 1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        reductions = {layers // 3, 2 * layers // 3}
        self.cells = nn.ModuleList()
        reduction_prev = False
        self.aux_position = 2 * layers // 3
        c_aux = c_prev
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                c_curr *= 2
            cell = Cell(
                self.genotype,
                c_prev_prev,
                c_prev,
                c_curr,
                reduction,
                reduction_prev,
                act,
                drop_path_prob,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == self.aux_position:
                c_aux = c_prev
        self.stage_names = tuple(
            f"cells.{i}" for i in range(layers) if i + 1 == layers or (i + 1) in reductions
        )
        self.aux_head = AuxiliaryHead(c_aux, num_classes, act) if auxiliary else None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(c_prev, num_classes)
        init_weights(self)

    def set_drop_path_prob(self, p: float) -> None:
        """Set the drop-path probability of every non-identity edge (DARTS ramps it per epoch)."""
        self.drop_path_prob = probability("drop_path_prob", p)
        for m in self.modules():
            if isinstance(m, DropPath):
                m.p = self.drop_path_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_position and self.aux_head is not None and self.training:
                aux = self.aux_head(s1)
        logits = self.fc(self.flatten(self.avgpool(s1)))
        if aux is not None:
            return logits, aux
        return logits


register("darts", model_args={"stem_multiplier": 3})(DartsNetwork)
