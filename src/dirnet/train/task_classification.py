"""Image classification: cross-entropy, top-1 while training, top-1/top-5 and loss at evaluation."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dirnet.config import RunConfig
from dirnet.train import builders
from dirnet.train.evaluation import evaluate


class ClassificationTask:
    primary = "top1"
    test_keys = ("loss", "top1", "top5")
    val_keys = ("loss", "top1")
    rbd_part = "ce"
    rbd_record = "train_ce"

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg

    def build_data(self, cfg: RunConfig):
        return builders.build_data(cfg)

    def build_loader(self, dataset, cfg: RunConfig, bundle, **kw):
        return builders.build_loader(dataset, cfg, bundle, **kw)

    def bind(self, model: nn.Module) -> None:
        pass

    def targets_to(self, y: Tensor, device: torch.device) -> Tensor:
        return y.to(device, non_blocking=True)

    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(output, y)

    def correct(self, output: Tensor, y: Tensor) -> Tensor:
        return (output.detach().argmax(1) == y).sum()

    def evaluate(self, model: nn.Module, loader, device: torch.device,
                 amp: str | None) -> dict[str, float]:
        return evaluate(model, loader, device, amp, dist_reduce=False)

    def rbd_options(self) -> dict[str, Any]:
        return {}
