"""DetectionEvaluator: accumulate a split's detections, then VOC and COCO mAP in one call.

    ev = DetectionEvaluator(num_classes, class_names)
    for images, targets in loader:                 # DetectionLoader(train=False)
        ev.update(postprocess(*model(images), model.anchors), targets)
    results = ev.compute()                         # {"mAP50": ..., "AP50": {...}, ...}

Boxes may be relative or in pixels, as long as detections and targets agree
(IoU is unchanged by rescaling an axis). Evaluate on one rank, or gather the
records of every rank first: the DDP padding repeats a few images.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .coco import coco_ap
from .metrics import ImageRecord, to_records, voc_ap

__all__ = ["DetectionEvaluator"]


def _mean(x: np.ndarray) -> float:
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


class DetectionEvaluator:
    """Collects per-image records; :meth:`compute` returns the metrics as plain floats.

    Keys of the result: ``mAP50`` (VOC area AP at IoU 0.5, the main BCCD/VOC
    number), ``mAP50_voc07`` (VOC2007 11-point at 0.5), ``mAP50_95`` (COCO's
    AP@[.5:.95], pycocotools' algorithm), ``mAP75_coco`` (COCO at 0.75),
    ``AP50`` and ``AP50_95`` (per class name; NaN where a class has no box),
    ``num_images``, ``num_detections``.
    """

    def __init__(self, num_classes: int, class_names: Sequence[str] | None = None) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class names for {num_classes} classes")
        self.num_classes = num_classes
        self.class_names = tuple(class_names) if class_names is not None else tuple(
            str(c) for c in range(num_classes))
        self.records: list[ImageRecord] = []

    def reset(self) -> None:
        self.records = []

    def update(self, detections: Sequence[Mapping[str, Any]],
               targets: Sequence[Mapping[str, Any]]) -> None:
        """Add a batch: ``postprocess`` output and the loader's targets, image by image."""
        self.records += to_records(detections, targets)

    def compute(self) -> dict[str, Any]:
        if not self.records:
            raise ValueError("no images: call update() first")
        ap50 = voc_ap(self.records, None, self.num_classes, 0.5, "area")
        ap07 = voc_ap(self.records, None, self.num_classes, 0.5, "11point")
        coco = coco_ap(self.records, None, self.num_classes)  # (10, C)
        per_class = coco.mean(0)  # a class is NaN at every threshold or at none
        return {
            "mAP50": _mean(ap50),
            "mAP50_voc07": _mean(ap07),
            "mAP50_95": _mean(coco),
            "mAP75_coco": _mean(coco[5]),
            "AP50": {n: float(v) for n, v in zip(self.class_names, ap50)},
            "AP50_95": {n: float(v) for n, v in zip(self.class_names, per_class)},
            "num_images": len(self.records),
            "num_detections": int(sum(len(r.det_scores) for r in self.records)),
        }
