"""Pascal VOC average precision (the devkit's rules), per class and as mAP.

Matching (VOCevaldet.m): per class, all detections of the data set sorted by
score (stable: ties keep input order); each takes the ground-truth box of its
image and class with the largest IoU, difficult and already-matched boxes
included. If that IoU is >= the threshold: a difficult box makes the
detection ignored (neither TP nor FP), an unmatched one makes it a TP (and
matched), a matched one a FP (duplicate); below the threshold it is a FP.
Recall counts the non-difficult boxes only.

AP (``method``): "area" (VOC2010 on): area under the precision envelope
(precision made non-increasing from the right) at every recall step;
"11point" (VOC2007): mean over t = 0, 0.1, ..., 1 (exactly k/10) of the best
precision at recall >= t. A class without non-difficult boxes has AP NaN and is
left out of the mean.

One difference from the devkit: IoU is computed on continuous coordinates
(area = w * h), not the devkit's inclusive pixels (w + 1)(h + 1). IoU does not
change when both axes are rescaled, so relative boxes give pixel-box IoUs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ImageRecord", "average_precision", "pr_curve", "to_records", "voc_ap", "voc_map"]


@dataclass(frozen=True)
class ImageRecord:
    """One image's detections and ground truth as float64 / int64 / bool numpy arrays."""

    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_labels: np.ndarray
    gt_boxes: np.ndarray
    gt_labels: np.ndarray
    gt_difficult: np.ndarray


def _np(x: Any, dtype: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def to_records(detections: Sequence[Mapping[str, Any]],
               ground_truths: Sequence[Mapping[str, Any]]) -> list[ImageRecord]:
    """Pair per-image detections (``boxes``, ``scores``, ``labels``) with ground truths
    (``boxes``, ``labels``, optional ``difficult``); tensors or arrays, xyxy boxes."""
    if len(detections) != len(ground_truths):
        raise ValueError(f"{len(detections)} detection lists for {len(ground_truths)} images")
    out = []
    for d, g in zip(detections, ground_truths):
        gt_boxes = _np(g["boxes"], np.float64).reshape(-1, 4)
        diff = g.get("difficult")
        out.append(ImageRecord(
            det_boxes=_np(d["boxes"], np.float64).reshape(-1, 4),
            det_scores=_np(d["scores"], np.float64).reshape(-1),
            det_labels=_np(d["labels"], np.int64).reshape(-1),
            gt_boxes=gt_boxes, gt_labels=_np(g["labels"], np.int64).reshape(-1),
            gt_difficult=(np.zeros(len(gt_boxes), bool) if diff is None
                          else _np(diff, bool).reshape(-1))))
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (len(a), len(b)) of xyxy boxes, continuous coordinates."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def average_precision(recall: np.ndarray, precision: np.ndarray, method: str = "area") -> float:
    """AP from cumulative recall/precision (detections in score order); see the module doc."""
    recall, precision = np.asarray(recall, np.float64), np.asarray(precision, np.float64)
    if method == "11point":
        return float(sum(precision[recall >= k / 10].max(initial=0.0) for k in range(11)) / 11)
    if method != "area":
        raise ValueError(f"method must be 'area' or '11point', got {method!r}")
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[step] - mrec[step - 1]) * mpre[step]))


def _class_ap(records: Sequence[ImageRecord], cls: int, iou_threshold: float,
              method: str) -> float:
    """One class's AP: the area (or 11-point) of its :func:`pr_curve`; NaN without boxes."""
    recall, precision, _ = pr_curve(records, cls, iou_threshold)
    if not any(np.sum((r.gt_labels == cls) & ~r.gt_difficult) for r in records):
        return float("nan")
    if len(recall) == 0:
        return 0.0
    return average_precision(recall, precision, method)


def voc_ap(detections: Sequence[Mapping[str, Any]] | Sequence[ImageRecord],
           ground_truths: Sequence[Mapping[str, Any]] | None, num_classes: int,
           iou_threshold: float = 0.5, method: str = "area") -> np.ndarray:
    """Per-class AP, float64 (num_classes,) (NaN: no non-difficult box of that class).

    Either ``(detections, ground_truths)`` per image, or records from
    :func:`to_records` with ``ground_truths=None``.
    """
    records = detections if ground_truths is None else to_records(detections, ground_truths)
    return np.array([_class_ap(records, c, iou_threshold, method) for c in range(num_classes)])


def voc_map(detections: Sequence[Mapping[str, Any]] | Sequence[ImageRecord],
            ground_truths: Sequence[Mapping[str, Any]] | None, num_classes: int,
            iou_threshold: float = 0.5, method: str = "area") -> float:
    """Mean of :func:`voc_ap` over the classes that have boxes (NaN if none has)."""
    ap = voc_ap(detections, ground_truths, num_classes, iou_threshold, method)
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")


def pr_curve(records: Sequence[ImageRecord], cls: int, iou_threshold: float = 0.5
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(recall, precision, scores)`` of class ``cls``, one point per counted detection in
    score order, with the devkit's matching (the curve :func:`voc_ap` integrates:
    ``average_precision(recall, precision)`` is that class's AP). Ignored detections
    (matched to a difficult box) are left out. Empty arrays when the class has no
    detections; recall is NaN when it has no non-difficult box.
    """
    npos = sum(int(np.sum((r.gt_labels == cls) & ~r.gt_difficult)) for r in records)
    img = np.concatenate([np.full(int(np.sum(r.det_labels == cls)), i, np.int64)
                          for i, r in enumerate(records)] or [np.zeros(0, np.int64)])
    scores = np.concatenate([r.det_scores[r.det_labels == cls] for r in records]
                            or [np.zeros(0)])
    boxes = np.concatenate([r.det_boxes[r.det_labels == cls] for r in records]
                           or [np.zeros((0, 4))]).reshape(-1, 4)
    order = np.argsort(-scores, kind="stable")
    used = {i: np.zeros(int(np.sum(r.gt_labels == cls)), bool) for i, r in enumerate(records)}
    outcome = np.zeros(len(order), np.int8)  # 1 TP, 0 FP, -1 ignored
    for d, k in enumerate(order):
        r = records[img[k]]
        gt, difficult = r.gt_boxes[r.gt_labels == cls], r.gt_difficult[r.gt_labels == cls]
        if len(gt) == 0:
            continue
        ious = iou_matrix(boxes[k][None], gt)[0]
        j = int(np.argmax(ious))
        if ious[j] >= iou_threshold:
            if difficult[j]:
                outcome[d] = -1
            elif not used[img[k]][j]:
                outcome[d], used[img[k]][j] = 1, True
    counted = outcome >= 0
    tp = np.cumsum(outcome[counted] == 1).astype(np.float64)
    fp = np.cumsum(outcome[counted] == 0).astype(np.float64)
    recall = tp / npos if npos else np.full(len(tp), np.nan)
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    return recall, precision, scores[order][counted]
