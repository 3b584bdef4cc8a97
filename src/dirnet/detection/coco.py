"""COCO's bbox AP (pycocotools' COCOeval algorithm, area range "all"), without pycocotools.

Per (image, class): detections sorted by score (stable) and cut to ``max_dets``;
ground truth with the ignore flag sorted last. At each IoU threshold t, each
detection in turn takes the unmatched regular box with the highest IoU >= t
(ties: the later box, as COCOeval's ``>=`` update does); only if there is none,
an unmatched ignored box the same way. A detection matched to an ignored box
counts neither as TP nor as FP. Per class, the detections of all images are
merged by score (stable, images in input order); precision is made
non-increasing from the right and read at the 101 recall points
0, 0.01, ..., 1 (the first detection reaching each recall; 0 past the last
recall). AP of a class is the mean over those points; classes without regular
boxes are NaN and left out; mAP@[.5:.95] is the mean over the thresholds
0.5:0.05:0.95 and the classes.

VOC's difficult boxes are passed as COCO's ignore flag (a non-crowd ignored
region: matched at most once). Crowd boxes and area ranges are not
supported. Checked against pycocotools on random data (tests).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .metrics import ImageRecord, iou_matrix, to_records

__all__ = ["COCO_IOU_THRESHOLDS", "coco_ap", "coco_map"]

#: pycocotools' thresholds, computed the same way (np.linspace, so 0.7000000000000001 ...)
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
_RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round(1.0 / 0.01)) + 1)


def _last_argmax(values: np.ndarray, eligible: np.ndarray, floor: float) -> int:
    """Index of the last maximum of ``values`` among ``eligible`` entries >= ``floor``, or -1."""
    ok = np.nonzero(eligible & (values >= floor))[0]
    if ok.size == 0:
        return -1
    v = values[ok]
    return int(ok[np.nonzero(v == v.max())[0][-1]])


def _match_image(det_boxes: np.ndarray, gt_boxes: np.ndarray, gt_ignore: np.ndarray,
                 thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(matched (T, D) bool, matched-to-ignored (T, D) bool) for score-sorted detections."""
    t_n, d_n = len(thresholds), len(det_boxes)
    matched = np.zeros((t_n, d_n), bool)
    ignored = np.zeros((t_n, d_n), bool)
    if d_n == 0 or len(gt_boxes) == 0:
        return matched, ignored
    ious = iou_matrix(det_boxes, gt_boxes)
    for t, thr in enumerate(thresholds):
        floor = min(thr, 1 - 1e-10)
        taken = np.zeros(len(gt_boxes), bool)
        for d in range(d_n):
            m = _last_argmax(ious[d], ~taken & ~gt_ignore, floor)
            if m < 0:
                m = _last_argmax(ious[d], ~taken & gt_ignore, floor)
            if m >= 0:
                taken[m], matched[t, d], ignored[t, d] = True, True, gt_ignore[m]
    return matched, ignored


def _class_precision(records: Sequence[ImageRecord], cls: int, thresholds: np.ndarray,
                     max_dets: int) -> np.ndarray | None:
    """(T, 101) interpolated precision of one class, or None if it has no regular box."""
    scores, matched, ignored = [], [], []
    npos = 0
    for r in records:
        g = r.gt_labels == cls
        npos += int(np.sum(g & ~r.gt_difficult))
        dm = np.nonzero(r.det_labels == cls)[0]
        dm = dm[np.argsort(-r.det_scores[dm], kind="stable")][:max_dets]
        m, i = _match_image(r.det_boxes[dm], r.gt_boxes[g], r.gt_difficult[g], thresholds)
        scores.append(r.det_scores[dm])
        matched.append(m)
        ignored.append(i)
    if npos == 0:
        return None
    order = np.argsort(-np.concatenate(scores), kind="mergesort")
    matched = np.concatenate(matched, 1)[:, order]
    ignored = np.concatenate(ignored, 1)[:, order]
    tp = np.cumsum(matched & ~ignored, 1).astype(np.float64)
    fp = np.cumsum(~matched & ~ignored, 1).astype(np.float64)
    out = np.zeros((len(thresholds), len(_RECALL_POINTS)))
    for t in range(len(thresholds)):
        rc = tp[t] / npos
        pr = tp[t] / (tp[t] + fp[t] + np.spacing(1))
        pr = np.maximum.accumulate(pr[::-1])[::-1]
        idx = np.searchsorted(rc, _RECALL_POINTS, side="left")
        valid = idx < len(pr)
        out[t, valid] = pr[idx[valid]]
    return out


def coco_ap(detections: Sequence[Mapping[str, Any]] | Sequence[ImageRecord],
            ground_truths: Sequence[Mapping[str, Any]] | None, num_classes: int,
            iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
            max_dets: int = 100) -> np.ndarray:
    """AP per threshold and class, float64 (T, num_classes), NaN for classes without boxes.

    ``max_dets`` caps the detections per image and class, as COCOeval's
    ``maxDets`` (100) does. Inputs as :func:`dirnet.detection.metrics.voc_ap`.
    """
    records = detections if ground_truths is None else to_records(detections, ground_truths)
    thr = np.asarray(iou_thresholds, np.float64)
    out = np.full((len(thr), num_classes), np.nan)
    for c in range(num_classes):
        p = _class_precision(records, c, thr, max_dets)
        if p is not None:
            out[:, c] = p.mean(1)
    return out


def coco_map(detections: Sequence[Mapping[str, Any]] | Sequence[ImageRecord],
             ground_truths: Sequence[Mapping[str, Any]] | None, num_classes: int,
             iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS, max_dets: int = 100) -> float:
    """COCO's AP@[.5:.95] (or over ``iou_thresholds``): the mean of :func:`coco_ap`'s finite
    entries, as COCOeval.summarize averages precision > -1."""
    ap = coco_ap(detections, ground_truths, num_classes, iou_thresholds, max_dets)
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")
