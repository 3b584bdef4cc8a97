"""Object detection on VOC-format data: reader, loader, SSD anchors, loss, NMS, mAP.

See docs/detection.md (coming with the detectors).
"""
from __future__ import annotations

from .anchors import (
    VARIANCES,
    anchor_scales,
    box_iou,
    cxcywh_to_xyxy,
    decode,
    default_aspect_ratios,
    default_boxes,
    encode,
    match,
    xyxy_to_cxcywh,
)
from .augment import SSD_MIN_IOUS, AugmentConfig
from .coco import COCO_IOU_THRESHOLDS, coco_ap, coco_map
from .evaluator import DetectionEvaluator
from .loader import IMAGENET_MEAN, IMAGENET_STD, DetectionLoader
from .loss import multibox_loss
from .metrics import average_precision, voc_ap, voc_map
from .postprocess import batched_nms, nms, postprocess
from .voc import VOCAnnotation, VOCDataset, discover_classes

__all__ = [
    "COCO_IOU_THRESHOLDS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SSD_MIN_IOUS",
    "VARIANCES",
    "AugmentConfig",
    "DetectionEvaluator",
    "DetectionLoader",
    "VOCAnnotation",
    "VOCDataset",
    "anchor_scales",
    "average_precision",
    "batched_nms",
    "box_iou",
    "coco_ap",
    "coco_map",
    "cxcywh_to_xyxy",
    "decode",
    "default_aspect_ratios",
    "default_boxes",
    "discover_classes",
    "encode",
    "match",
    "multibox_loss",
    "nms",
    "postprocess",
    "voc_ap",
    "voc_map",
    "xyxy_to_cxcywh",
]
