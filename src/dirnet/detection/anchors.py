"""SSD default boxes (anchors), box encoding with variances, and IoU matching.

Boxes are relative to the input (``[0, 1]``): anchors are ``(cx, cy, w, h)``,
ground truth and decoded predictions ``(x0, y0, x1, y1)``. Anchor order is
level by level, then row-major over the feature map (y, then x), then the
boxes of one location; it matches a head that does
``conv(f).permute(0, 2, 3, 1).reshape(B, -1, 4)``.

Scales (SSD paper, eq. 4): ``s_k = s_min + (s_max - s_min) (k - 1) / (m - 1)``
for levels k = 1..m, plus ``s_{m+1}`` continuing the line, for the extra
square box ``sqrt(s_k s_{k+1})``. A location on level k holds a square of side
``s_k``, a square of side ``sqrt(s_k s_{k+1})`` and, for each ratio r,
``(s_k sqrt(r), s_k / sqrt(r))`` and its transpose: ``2 + 2 len(ratios)`` boxes.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["VARIANCES", "anchor_scales", "anchors_per_location", "box_iou", "cxcywh_to_xyxy",
           "decode", "default_aspect_ratios", "default_boxes", "encode", "match", "xyxy_to_cxcywh"]

#: SSD's variances for the centre offsets and the log size ratios
VARIANCES: tuple[float, float] = (0.1, 0.2)


def cxcywh_to_xyxy(b: Tensor) -> Tensor:
    return torch.cat([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], -1)


def xyxy_to_cxcywh(b: Tensor) -> Tensor:
    return torch.cat([(b[..., :2] + b[..., 2:]) / 2, b[..., 2:] - b[..., :2]], -1)


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of xyxy boxes, ``(..., N, 4) x (..., M, 4) -> (..., N, M)`` (continuous, no +1)."""
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    union = area_a[..., :, None] + area_b[..., None, :] - inter
    return inter / union.clamp(min=torch.finfo(inter.dtype).tiny)


def anchor_scales(num_levels: int, min_scale: float = 0.1, max_scale: float = 0.9) -> list[float]:
    """The ``num_levels + 1`` SSD scales (the last one only feeds ``sqrt(s_m s_{m+1})``)."""
    if num_levels < 1:
        raise ValueError(f"num_levels must be >= 1, got {num_levels}")
    if not 0 < min_scale <= max_scale:
        raise ValueError(f"need 0 < min_scale <= max_scale, got {min_scale}, {max_scale}")
    step = (max_scale - min_scale) / (num_levels - 1) if num_levels > 1 else 0.0
    last = max_scale + step if num_levels > 1 else 1.0
    return [min_scale + step * k for k in range(num_levels)] + [last]


def default_aspect_ratios(levels: int) -> list[tuple[float, ...]]:
    """SSD300's pattern for any number of levels: (2,) first and last two, (2, 3) between."""
    if levels < 4:
        return [(2.0,)] * levels
    return [(2.0,)] + [(2.0, 3.0)] * (levels - 3) + [(2.0,)] * 2


def anchors_per_location(aspect_ratios: Sequence[float]) -> int:
    return 2 + 2 * len(aspect_ratios)


def default_boxes(feature_sizes: Sequence[int | tuple[int, int]],
                  aspect_ratios: Sequence[Sequence[float]], scales: Sequence[float],
                  clip: bool = True) -> Tensor:
    """All anchors, float32 ``(A, 4)`` cxcywh; ``scales`` has one entry more than levels.

    ``clip`` clamps widths and heights to 1 (SSD clips the boxes to the image).
    """
    if len(aspect_ratios) != len(feature_sizes) or len(scales) != len(feature_sizes) + 1:
        raise ValueError(f"{len(feature_sizes)} levels need as many aspect-ratio lists and "
                         f"{len(feature_sizes) + 1} scales; got {len(aspect_ratios)} and "
                         f"{len(scales)}")
    out = []
    for k, (size, ratios) in enumerate(zip(feature_sizes, aspect_ratios)):
        fh, fw = (size, size) if isinstance(size, int) else size
        if any(r <= 0 for r in ratios):
            raise ValueError(f"aspect ratios must be > 0, got {list(ratios)}")
        s, s_next = scales[k], math.sqrt(scales[k] * scales[k + 1])
        wh = [(s, s), (s_next, s_next)]
        for r in ratios:
            q = math.sqrt(r)
            wh += [(s * q, s / q), (s / q, s * q)]
        wh_t = torch.tensor(wh, dtype=torch.float64)  # (n, 2)
        cy, cx = torch.meshgrid((torch.arange(fh, dtype=torch.float64) + 0.5) / fh,
                                (torch.arange(fw, dtype=torch.float64) + 0.5) / fw, indexing="ij")
        centres = torch.stack([cx, cy], -1).reshape(-1, 1, 2).expand(-1, len(wh), 2)
        out.append(torch.cat([centres, wh_t.expand(fh * fw, -1, -1)], -1).reshape(-1, 4))
    boxes = torch.cat(out)
    if clip:
        boxes[:, 2:] = boxes[:, 2:].clamp(max=1.0)
    return boxes.float()


def encode(boxes: Tensor, anchors: Tensor, variances: tuple[float, float] = VARIANCES) -> Tensor:
    """Regression targets of xyxy ``boxes`` (..., A, 4) for cxcywh ``anchors`` (A, 4)."""
    b = xyxy_to_cxcywh(boxes)
    centre = (b[..., :2] - anchors[:, :2]) / (variances[0] * anchors[:, 2:])
    size = torch.log(b[..., 2:].clamp(min=1e-6) / anchors[:, 2:]) / variances[1]
    return torch.cat([centre, size], -1)


def decode(loc: Tensor, anchors: Tensor, variances: tuple[float, float] = VARIANCES) -> Tensor:
    """xyxy boxes from regression outputs ``loc`` (..., A, 4); inverse of :func:`encode`."""
    centre = anchors[:, :2] + loc[..., :2] * variances[0] * anchors[:, 2:]
    # exp of a wild output early in training would be inf; e^10 is already 22000x the anchor
    size = anchors[:, 2:] * torch.exp((loc[..., 2:] * variances[1]).clamp(max=10.0))
    return cxcywh_to_xyxy(torch.cat([centre, size], -1))


def match(anchors: Tensor, boxes: Sequence[Tensor], labels: Sequence[Tensor], num_classes: int,
          iou_threshold: float = 0.5,
          variances: tuple[float, float] = VARIANCES) -> tuple[Tensor, Tensor]:
    """SSD matching for a batch: ``(loc targets (B, A, 4), class targets (B, A) int64)``.

    Each ground-truth box first gets its best anchor; then every other anchor
    takes the box it overlaps most if that IoU is >= ``iou_threshold``.
    Unmatched anchors get class ``num_classes`` (background, the last logit).
    When two boxes claim the same best anchor, the one overlapping it more wins
    (ties: the first). Boxes are xyxy relative; images without boxes are all background.
    """
    bsz, a = len(boxes), anchors.shape[0]
    n = max((int(b.shape[0]) for b in boxes), default=0)
    device = anchors.device
    if n == 0:
        return (torch.zeros(bsz, a, 4, device=device),
                torch.full((bsz, a), num_classes, dtype=torch.int64, device=device))
    gt = torch.zeros(bsz, n, 4, device=device)
    gt_labels = torch.full((bsz, n), num_classes, dtype=torch.int64, device=device)
    valid = torch.zeros(bsz, n, dtype=torch.bool, device=device)
    for i, (b, lab) in enumerate(zip(boxes, labels)):
        gt[i, : len(b)] = b.to(device)
        gt_labels[i, : len(b)] = lab.to(device)
        valid[i, : len(b)] = True
    iou = box_iou(cxcywh_to_xyxy(anchors).expand(bsz, -1, -1), gt)  # (B, A, N)
    iou = iou.masked_fill(~valid[:, None, :], -1.0)
    best_anchor = iou.argmax(1)  # (B, N)
    forced = (torch.arange(a, device=device)[None, :, None] == best_anchor[:, None, :]) & valid[:, None]
    score = iou + 2.0 * forced  # a forced pair beats any IoU; among forced ones, the higher IoU
    best, gt_idx = score.max(2)  # (B, A)
    cls = torch.gather(gt_labels, 1, gt_idx)
    cls = torch.where(best >= iou_threshold, cls, torch.full_like(cls, num_classes))
    matched = torch.gather(gt, 1, gt_idx[..., None].expand(-1, -1, 4))
    return encode(matched, anchors, variances), cls
