"""SSD's multibox loss: smooth-L1 box regression + cross-entropy with hard-negative mining.

    L = (sum_pos smoothL1(loc - encode(gt)) + sum_{pos + mined neg} CE(conf, class)) / N_pos

Positives are the anchors :func:`~dirnet.detection.anchors.match` assigns to a
box; per image, the ``neg_pos_ratio * n_pos`` background anchors with the
highest background loss are the mined negatives (fewer if there are not
that many). Both terms are divided by the number of positives in the batch
(at least 1), as in the SSD paper. Class indices: 0..C-1 objects, C background.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .anchors import VARIANCES, match

__all__ = ["hard_negative_mask", "multibox_loss"]


def hard_negative_mask(background_loss: Tensor, positive: Tensor, neg_pos_ratio: float,
                       min_negatives: int = 0) -> Tensor:
    """(B, A) mask of the mined negatives: per row the ``max(ratio * n_pos, min_negatives)``
    non-positive anchors with the largest ``background_loss`` (ties: lower index first)."""
    loss = background_loss.detach().masked_fill(positive, -float("inf"))
    order = loss.argsort(dim=1, descending=True, stable=True)
    rank = order.argsort(dim=1)
    num_pos = positive.sum(1, keepdim=True)
    num_neg = (num_pos * neg_pos_ratio).floor().long().clamp(min=min_negatives)
    num_neg = torch.minimum(num_neg, positive.shape[1] - num_pos)
    return rank < num_neg


def multibox_loss(loc: Tensor, conf: Tensor, anchors: Tensor,
                  targets: Sequence[Mapping[str, Tensor]], *, iou_threshold: float = 0.5,
                  neg_pos_ratio: float = 3.0, min_negatives: int = 0,
                  variances: tuple[float, float] = VARIANCES) -> tuple[Tensor, dict[str, Tensor]]:
    """``(loss, {"loc": ..., "conf": ..., "num_pos": ...})`` for a batch.

    ``loc`` (B, A, 4) and ``conf`` (B, A, C + 1) are the model's outputs,
    ``anchors`` its ``anchors`` buffer (A, 4) cxcywh, ``targets`` the loader's
    dicts (``boxes`` relative xyxy, ``labels`` 0-based). The parts are detached
    0-d tensors (``num_pos`` counts the batch's positive anchors).
    ``min_negatives`` gives images without objects some negatives (SSD: 0).
    """
    if loc.dim() != 3 or loc.shape[-1] != 4 or conf.shape[:2] != loc.shape[:2]:
        raise ValueError(f"expected loc (B, A, 4) and conf (B, A, C+1); got {tuple(loc.shape)} "
                         f"and {tuple(conf.shape)}")
    if anchors.shape != loc.shape[1:]:
        raise ValueError(f"{anchors.shape[0]} anchors for {loc.shape[1]} predictions")
    if len(targets) != loc.shape[0]:
        raise ValueError(f"{len(targets)} targets for a batch of {loc.shape[0]}")
    num_classes = conf.shape[-1] - 1
    with torch.no_grad():
        loc_t, cls_t = match(anchors, [t["boxes"] for t in targets],
                             [t["labels"] for t in targets], num_classes, iou_threshold, variances)
    positive = cls_t < num_classes
    num_pos = positive.sum()
    denom = num_pos.clamp(min=1).to(loc.dtype)
    loc_loss = F.smooth_l1_loss(loc[positive], loc_t[positive].to(loc.dtype), reduction="sum")
    ce = F.cross_entropy(conf.reshape(-1, num_classes + 1), cls_t.reshape(-1),
                         reduction="none").view_as(cls_t)
    negative = hard_negative_mask(ce, positive, neg_pos_ratio, min_negatives)
    conf_loss = ce[positive | negative].sum()
    loc_loss, conf_loss = loc_loss / denom, conf_loss / denom
    parts = {"loc": loc_loss.detach(), "conf": conf_loss.detach(), "num_pos": num_pos.detach()}
    return loc_loss + conf_loss, parts
