"""Object detection on VOC-format data: the reader, box-aware augmentation and the loader.

See docs/detection.md (coming with the detectors).
"""
from __future__ import annotations

from .augment import SSD_MIN_IOUS, AugmentConfig
from .loader import IMAGENET_MEAN, IMAGENET_STD, DetectionLoader
from .voc import VOCAnnotation, VOCDataset, discover_classes

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SSD_MIN_IOUS",
    "AugmentConfig",
    "DetectionLoader",
    "VOCAnnotation",
    "VOCDataset",
    "discover_classes",
]
