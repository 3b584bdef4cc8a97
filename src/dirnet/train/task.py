"""What a run learns: classification or detection, chosen by the data set.

A task owns what differs between them: how its data and loaders are built,
the loss of a batch, the per-batch training count (correct predictions), the
end-of-epoch evaluation and the figures it logs. The engine and the epoch loop
are the same for both (resume, checkpoints, signals, DDP, RBD, flips).
"""
from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor, nn

from dirnet.config import RunConfig


class Task(Protocol):
    #: the figure that names a run's result and picks best.pt: "top1" or "map50"
    primary: str
    #: evaluation figures logged for the test and the validation split
    test_keys: tuple[str, ...]
    val_keys: tuple[str, ...]
    #: the RBD part that is the task's own loss, and its metrics.jsonl name
    rbd_part: str
    rbd_record: str

    def build_data(self, cfg: RunConfig): ...

    def build_loader(self, dataset, cfg: RunConfig, bundle, *, train: bool, augment=None,
                     rank: int = 0, world: int = 1, device: torch.device | None = None): ...

    def bind(self, model: nn.Module) -> None: ...

    def targets_to(self, y: Any, device: torch.device) -> Any: ...

    def loss(self, output: Any, y: Any) -> Tensor: ...

    def correct(self, output: Any, y: Any) -> Tensor | None: ...

    def evaluate(self, model: nn.Module, loader, device: torch.device,
                 amp: str | None) -> dict[str, float]: ...

    def rbd_options(self) -> dict[str, Any]: ...


DETECTION_DATA = ("voc",)


def task_for(cfg: RunConfig) -> Task:
    """The task of a run: detection for VOC-format data, classification otherwise."""
    if cfg.data.name in DETECTION_DATA:
        from dirnet.train.task_detection import DetectionTask

        return DetectionTask(cfg)
    from dirnet.train.task_classification import ClassificationTask

    return ClassificationTask(cfg)
