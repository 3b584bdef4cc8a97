"""What MobileNet V1/V2 and EfficientNet share: where resolution drops, and the pooled head.

Kept in one place so the three families agree on the 32x32 adaptation, on
which blocks RBD aligns, and on the module names (``avgpool``, ``flatten``,
``dropout``, ``fc``) their checkpoints and exported graphs use.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def small_input_strides(strides: Sequence[int], small_input: bool) -> list[int]:
    """Stage strides with the first stride-2 stage kept at full resolution for 32x32 inputs
    (the stem has stride 1 there too), so the last stages are not 1x1."""
    out = list(strides)
    if small_input and 2 in out:
        out[out.index(2)] = 1
    return out


def stage_ends(block_strides: Sequence[int]) -> tuple[str, ...]:
    """``features.i`` of the last block at each resolution: the stage outputs RBD aligns."""
    n = len(block_strides)
    return tuple(f"features.{i}" for i in range(n) if i + 1 == n or block_strides[i + 1] > 1)


class PooledClassifier(nn.Module):
    """Global average pool, dropout and a linear layer, as attributes of the model itself."""

    def add_classifier(self, channels: int, num_classes: int, dropout: float) -> None:
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.flatten(self.avgpool(x))))
