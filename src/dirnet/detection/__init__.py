"""Object detection on VOC-format data: reader, loader, SSD anchors, multibox loss, NMS.

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
from .loader import IMAGENET_MEAN, IMAGENET_STD, DetectionLoader
from .loss import multibox_loss
from .postprocess import batched_nms, nms, postprocess
from .voc import VOCAnnotation, VOCDataset, discover_classes

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SSD_MIN_IOUS",
    "VARIANCES",
    "AugmentConfig",
    "DetectionLoader",
    "VOCAnnotation",
    "VOCDataset",
    "anchor_scales",
    "batched_nms",
    "box_iou",
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
    "xyxy_to_cxcywh",
]
