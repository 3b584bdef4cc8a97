"""Binary object detection: VOC-format data, SSD detectors, multibox loss, NMS and mAP.

    from dirnet import detection as det
    train = det.VOCDataset(root, "train")                       # classes from the annotations
    test = det.VOCDataset(root, "test", classes=train.classes)
    loader = det.DetectionLoader(train, 32, train=True, input_size=300, seed=0)
    model = dirnet.models.create("ssd_resnet18", num_classes=train.num_classes, input_size=300)
    loc, conf = model(images)
    loss, parts = det.multibox_loss(loc, conf, model.anchors, targets)
    dets = det.postprocess(loc, conf, model.anchors)            # per image: boxes, scores, labels

Conventions: boxes are xyxy; relative to the network input ([0, 1]) everywhere
except in :class:`VOCDataset` (0-based continuous pixels: VOC's
``(xmin - 1, ymin - 1, xmax, ymax)``). Class indices are 0-based over the
foreground classes; the detector's last logit (index ``num_classes``) is
background. Importing this package registers ``ssd_resnet18`` and
``ssd_resnet20`` in the model zoo. See docs/detection.md.
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
from .ssd import SSD
from .voc import VOCAnnotation, VOCDataset, discover_classes

__all__ = [
    "COCO_IOU_THRESHOLDS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SSD",
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
