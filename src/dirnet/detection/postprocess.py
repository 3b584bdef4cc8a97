"""From network outputs to detections: decode, per-class score threshold, NMS, top-k.

NMS here is exact greedy NMS (keep the best box, drop every box of its group
overlapping it by more than the threshold, repeat). All groups (one per image
and class) run at once: each is sorted by score and padded to the largest
group's size M, their IoU matrices are computed in one batched op, and greedy's
scan takes M vectorised steps over all groups together (step i: if box i of a
group is still alive, it removes the later boxes it overlaps). Groups are kept
apart by this layout rather than by the coordinate-offset trick, so no
coordinate is rounded.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .anchors import VARIANCES, box_iou, decode

__all__ = ["Detection", "batched_nms", "nms", "postprocess"]

#: {"boxes": float32 (n, 4) relative xyxy clipped to [0, 1], "scores": (n,), "labels": int64 (n,)}
Detection = dict[str, Tensor]


def _greedy_keep(boxes: Tensor, valid: Tensor, iou_threshold: float) -> Tensor:
    """Keep mask (G, M) of greedy NMS run on G padded groups at once; within a group
    the boxes are sorted by decreasing score. One vectorised step per position."""
    m = boxes.shape[1]
    later = torch.ones(m, m, dtype=torch.bool, device=boxes.device).triu(1)
    suppress = (box_iou(boxes, boxes) > iou_threshold) & later  # (G, M, M): row i hits later j
    removed = ~valid
    for i in range(m):
        alive = ~removed[:, i]
        removed = removed | (suppress[:, i] & alive[:, None])
    return valid & ~removed


def batched_nms(boxes: Tensor, scores: Tensor, groups: Tensor, iou_threshold: float,
                max_entries: int = 1 << 24) -> Tensor:
    """Indices of the boxes greedy NMS keeps within each group, by decreasing score
    (equal scores: lower index first).

    A box is suppressed by a kept box of the same group with a higher score (ties:
    the lower index first) when their IoU is strictly greater than ``iou_threshold``.
    Groups are padded to the largest one (M boxes) and run side by side, in chunks
    of at most ``max_entries`` IoU entries: memory O(M^2), M steps per chunk.
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    order = scores.argsort(descending=True, stable=True)
    order = order[groups[order].argsort(stable=True)]  # group by group, by score inside
    _, counts = torch.unique_consecutive(groups[order], return_counts=True)
    n_groups, m = counts.numel(), int(counts.max())
    gid = torch.repeat_interleave(torch.arange(n_groups, device=boxes.device), counts)
    pos = torch.arange(order.numel(), device=boxes.device) - (counts.cumsum(0) - counts)[gid]
    padded = boxes.new_zeros(n_groups, m, 4)
    padded[gid, pos] = boxes[order]
    valid = torch.zeros(n_groups, m, dtype=torch.bool, device=boxes.device)
    valid[gid, pos] = True
    step = max(1, max_entries // (m * m))
    keep = torch.cat([_greedy_keep(padded[c:c + step], valid[c:c + step], iou_threshold)
                      for c in range(0, n_groups, step)])
    kept = order[keep[gid, pos]].sort().values  # index order, so equal scores keep it
    return kept[scores[kept].argsort(descending=True, stable=True)]


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS of one group; see :func:`batched_nms`."""
    return batched_nms(boxes, scores, torch.zeros_like(scores, dtype=torch.int64), iou_threshold)


def postprocess(loc: Tensor, conf: Tensor, anchors: Tensor, *, score_threshold: float = 0.01,
                iou_threshold: float = 0.45, top_k: int = 200, pre_nms_top_k: int = 200,
                variances: tuple[float, float] = VARIANCES) -> list[Detection]:
    """Per-image detections from ``loc`` (B, A, 4) and ``conf`` (B, A, C + 1) logits.

    Softmax over the C + 1 logits (the last is background); every (anchor,
    class) pair with a class score > ``score_threshold`` is a candidate, at most
    ``pre_nms_top_k`` per class and image (highest scores); per-class NMS at
    ``iou_threshold``; then the ``top_k`` best per image. Labels are 0-based
    class indices; boxes are clipped to [0, 1] (multiply by the image size for pixels).
    """
    bsz, a, c1 = conf.shape
    num_classes = c1 - 1
    with torch.no_grad():
        boxes = decode(loc.float(), anchors.float(), variances).clamp(0.0, 1.0)  # (B, A, 4)
        scores = conf.float().softmax(-1)[..., :num_classes]  # (B, A, C)
        k = min(pre_nms_top_k, a)
        cand_boxes, cand_scores, cand_labels, cand_images = [], [], [], []
        for i in range(bsz):
            top, anchor = scores[i].topk(k, dim=0)  # (k, C): best anchors of each class
            hit = top > score_threshold
            label = torch.arange(num_classes, device=conf.device).expand(k, -1)[hit]
            cand_boxes.append(boxes[i][anchor[hit]])
            cand_scores.append(top[hit])
            cand_labels.append(label)
            cand_images.append(torch.full_like(label, i))
        b, s = torch.cat(cand_boxes), torch.cat(cand_scores)
        lab, img = torch.cat(cand_labels), torch.cat(cand_images)
        keep = batched_nms(b, s, img * num_classes + lab, iou_threshold)
        out: list[Detection] = []
        for i in range(bsz):
            mine = keep[img[keep] == i][:top_k]  # keep is sorted by score
            out.append({"boxes": b[mine], "scores": s[mine], "labels": lab[mine]})
    return out
