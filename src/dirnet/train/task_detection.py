"""Object detection (SSD-style, VOC-format data): multibox loss, mAP at evaluation.

``data.name: voc`` with ``data.root`` any folder holding ``JPEGImages/``,
``Annotations/`` and ``ImageSets/Main/{train,val,test}.txt``; the classes are
read from the annotations unless ``data.classes`` lists them. Every image is
resized to ``model.input_size`` squared. Logged figures are in percent:
``test_map50`` (VOC area AP at IoU 0.5), ``test_map`` (COCO-style AP@[.5:.95])
and ``test_map50_voc07`` (the 11-point version); ``val_map50`` picks best.pt.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dirnet import detection as det
from dirnet.config import RunConfig
from dirnet.data import DataBundle
from dirnet.train.builders import loader_options
from dirnet.train.device import autocast


def _subset(dataset: det.VOCDataset, n: int | None) -> det.VOCDataset:
    """The first ``n`` images of a split (smoke tests), as data.train_subset says."""
    if not n or n >= len(dataset):
        return dataset
    part = copy.copy(dataset)
    part.annotations = dataset.annotations[:n]
    return part


def build_voc(cfg: RunConfig) -> DataBundle:
    """Train/val/test splits of a VOC-format folder (val and test where their lists exist)."""
    if not cfg.data.root:
        raise ValueError("data.name=voc needs data.root: a folder with JPEGImages/, "
                         "Annotations/ and ImageSets/Main/<split>.txt")
    if cfg.data.val_size:
        raise ValueError("data.val_size does not apply to VOC-format data: its val split is "
                         "ImageSets/Main/val.txt")
    if cfg.model.input_size is None:
        raise ValueError("a detector needs model.input_size (the square input side, e.g. 300)")
    root = Path(cfg.data.root)
    train = det.VOCDataset(root, "train", classes=cfg.data.classes)
    classes = train.classes

    def split(name: str) -> det.VOCDataset | None:
        exists = (root / "ImageSets" / "Main" / f"{name}.txt").is_file()
        return det.VOCDataset(root, name, classes=classes) if exists else None

    test = split("test")
    return DataBundle(
        name="voc", train=_subset(train, cfg.data.train_subset), val=split("val"),
        test=_subset(test, cfg.data.test_subset) if test is not None else None,
        num_classes=len(classes), in_channels=3, image_size=cfg.model.input_size,
        mean=det.IMAGENET_MEAN, std=det.IMAGENET_STD, class_names=list(classes),
        train_augment="default", info={"root": str(root)})


class DetectionTask:
    primary = "map50"
    test_keys = ("map50", "map", "map50_voc07")
    val_keys = ("map50",)
    rbd_part = "task"
    rbd_record = "train_det"

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.anchors: Tensor | None = None

    def build_data(self, cfg: RunConfig):
        bundle = build_voc(cfg)
        aug = None if cfg.data.augment in ("none", None) else "default"
        return bundle, bundle.train, bundle.val, bundle.test, aug

    def build_loader(self, dataset, cfg: RunConfig, bundle, *, train: bool, augment=None,
                     rank: int = 0, world: int = 1, device: torch.device | None = None):
        return det.DetectionLoader(
            dataset, input_size=bundle.image_size, augment=augment if train else None,
            mean=bundle.mean, std=bundle.std,
            **loader_options(cfg, train=train, rank=rank, world=world, device=device))

    def bind(self, model: nn.Module) -> None:
        self.anchors = model.anchors

    def targets_to(self, y: list[dict[str, Tensor]], device: torch.device):
        return [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in y]

    def loss(self, output: tuple[Tensor, Tensor], y) -> Tensor:
        loc, conf = output
        return det.multibox_loss(loc.float(), conf.float(), self.anchors, y)[0]

    def correct(self, output, y) -> None:
        return None

    @torch.no_grad()
    def collect(self, model: nn.Module, loader, device: torch.device, amp: str | None,
                class_names=None) -> det.DetectionEvaluator:
        """Every image's detections (``postprocess`` defaults) beside its ground truth."""
        model.eval()
        evaluator = det.DetectionEvaluator(model.num_classes, class_names)
        for x, targets in loader:
            with autocast(device, amp):
                loc, conf = model(x.to(device, non_blocking=True))
            dets = det.postprocess(loc.float(), conf.float(), model.anchors)
            evaluator.update([{k: v.cpu() for k, v in d.items()} for d in dets], targets)
        return evaluator

    @staticmethod
    def figures(metrics: dict[str, Any]) -> dict[str, float]:
        """The logged figures (percent) of ``DetectionEvaluator.compute()``'s result."""
        return {"map50": 100 * metrics["mAP50"], "map": 100 * metrics["mAP50_95"],
                "map50_voc07": 100 * metrics["mAP50_voc07"]}

    def evaluate(self, model: nn.Module, loader, device: torch.device,
                 amp: str | None) -> dict[str, float]:
        return self.figures(self.collect(model, loader, device, amp).compute())

    def rbd_options(self) -> dict[str, Any]:
        def class_logits(output: tuple[Tensor, Tensor]) -> Tensor:
            conf = output[1]
            return conf.reshape(-1, conf.shape[-1])  # one class distribution per anchor

        return {"task_loss": self.loss, "logits": class_logits}
