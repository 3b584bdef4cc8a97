"""SSD default boxes, box coding, matching and the multibox loss."""
import math

import pytest
import torch
import torch.nn.functional as F

from dirnet.detection import (
    anchor_scales,
    box_iou,
    cxcywh_to_xyxy,
    decode,
    default_aspect_ratios,
    default_boxes,
    encode,
    match,
    multibox_loss,
)
from dirnet.detection.loss import hard_negative_mask


def test_scales_follow_the_ssd_rule():
    s = anchor_scales(6, 0.2, 0.9)
    assert s == pytest.approx([0.2, 0.34, 0.48, 0.62, 0.76, 0.9, 1.04])
    assert anchor_scales(1, 0.3, 0.3) == [0.3, 1.0]


def test_ssd300_layout_gives_8732_boxes():
    sizes = [38, 19, 10, 5, 3, 1]
    boxes = default_boxes(sizes, default_aspect_ratios(6), anchor_scales(6, 0.2, 0.9))
    assert boxes.shape == (8732, 4) and boxes.dtype == torch.float32
    assert (boxes[:, 2:] <= 1).all() and (boxes[:, 2:] > 0).all()


def test_box_order_is_level_row_column_then_shape():
    boxes = default_boxes([(2, 3)], [(2.0,)], [0.2, 0.8], clip=False)
    n = 4  # 2 squares + 2 for ratio 2
    assert boxes.shape == (2 * 3 * n, 4)
    for y in range(2):
        for x in range(3):
            loc = boxes[(y * 3 + x) * n: (y * 3 + x + 1) * n]
            assert torch.allclose(loc[:, 0], torch.full((n,), (x + 0.5) / 3))
            assert torch.allclose(loc[:, 1], torch.full((n,), (y + 0.5) / 2))
    s, s2, q = 0.2, math.sqrt(0.2 * 0.8), math.sqrt(2)
    expected = torch.tensor([[s, s], [s2, s2], [s * q, s / q], [s / q, s * q]])
    assert torch.allclose(boxes[:4, 2:], expected)


def test_encode_decode_round_trip_and_zero_for_the_anchor_itself():
    g = torch.Generator().manual_seed(0)
    anchors = torch.cat([torch.rand(50, 2, generator=g), 0.05 + torch.rand(50, 2, generator=g)], 1)
    xy = torch.rand(3, 50, 2, generator=g)
    boxes = torch.cat([xy, xy + 0.01 + torch.rand(3, 50, 2, generator=g)], -1)
    assert torch.allclose(decode(encode(boxes, anchors), anchors), boxes, atol=1e-5)
    assert encode(cxcywh_to_xyxy(anchors), anchors).abs().max() < 1e-5
    assert torch.allclose(encode(cxcywh_to_xyxy(anchors) + torch.tensor([0.01, 0, 0.01, 0]),
                                 anchors)[:, 0], 0.01 / (0.1 * anchors[:, 2]), rtol=1e-4)


def test_iou():
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 1, 3, 3], [2, 2, 3, 3], [0, 0, 2, 2]])
    assert torch.allclose(box_iou(a, b), torch.tensor([[1 / 7, 0, 1]]))


def _xyxy(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_matching_threshold_forced_best_anchor_and_background():
    # anchors (xyxy): A0 = left half, A1 = right half, A2 = small box top-left, A3 = far corner
    anchors = torch.tensor([[0.25, 0.5, 0.5, 1.0], [0.75, 0.5, 0.5, 1.0],
                            [0.1, 0.1, 0.2, 0.2], [0.95, 0.95, 0.1, 0.1]])
    gt = _xyxy([0.0, 0.0, 0.45, 1.0], [0.85, 0.85, 1.0, 1.0])  # G1: best A3, IoU 0.44
    loc_t, cls_t = match(anchors, [gt], [torch.tensor([2, 0])], num_classes=3)
    assert cls_t.tolist() == [[2, 3, 3, 0]]  # A0: IoU 0.9 -> class 2; A3 forced to G1
    assert torch.allclose(loc_t[0, 0], encode(gt[:1], anchors[:1])[0])
    # two boxes whose best anchor is the same: the one overlapping it more wins it
    gt2 = _xyxy([0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.4, 1.0])
    _, cls2 = match(anchors, [gt2], [torch.tensor([1, 2])], num_classes=3)
    assert cls2[0, 0] == 1
    # a batch: per-image results equal single-image matching; no boxes -> all background
    batch = match(anchors, [gt, gt2, torch.zeros(0, 4)],
                  [torch.tensor([2, 0]), torch.tensor([1, 2]), torch.zeros(0, dtype=torch.long)], 3)
    assert batch[1].tolist() == [cls_t[0].tolist(), cls2[0].tolist(), [3, 3, 3, 3]]
    empty = match(anchors, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], 3)
    assert empty[1].tolist() == [[3, 3, 3, 3]] and empty[0].abs().sum() == 0


def test_hard_negatives_are_the_highest_background_losses():
    loss = torch.tensor([[5.0, 1, 4, 3, 2, 0], [1, 2, 3, 4, 5, 6]])
    pos = torch.tensor([[True, False, False, False, False, False], [False] * 6])
    assert hard_negative_mask(loss, pos, 3).tolist() == [
        [False, False, True, True, True, False], [False] * 6]
    assert hard_negative_mask(loss, pos, 3, min_negatives=2)[1].tolist() == [
        False, False, False, False, True, True]
    pos_many = torch.tensor([[True, True, False, False, False, False]] * 2)
    assert hard_negative_mask(loss, pos_many, 3).sum(1).tolist() == [4, 4]  # capped


def _reference_loss(loc, conf, anchors, targets):
    """The multibox loss image by image, written out plainly."""
    num_classes = conf.shape[-1] - 1
    total_loc, total_conf, npos = 0.0, 0.0, 0
    for i, t in enumerate(targets):
        loc_t, cls_t = match(anchors, [t["boxes"]], [t["labels"]], num_classes)
        loc_t, cls_t = loc_t[0], cls_t[0]
        pos = cls_t < num_classes
        npos += int(pos.sum())
        total_loc = total_loc + F.smooth_l1_loss(loc[i][pos], loc_t[pos], reduction="sum")
        ce = F.cross_entropy(conf[i], cls_t, reduction="none")
        neg_loss = ce.detach().clone()
        neg_loss[pos] = -1
        k = min(3 * int(pos.sum()), int((~pos).sum()))
        neg = torch.zeros_like(pos)
        neg[neg_loss.argsort(descending=True, stable=True)[:k]] = True
        total_conf = total_conf + ce[pos | neg].sum()
    n = max(npos, 1)
    return total_loc / n, total_conf / n


def test_multibox_loss_matches_a_plain_reference_and_trains():
    g = torch.Generator().manual_seed(1)
    anchors = default_boxes([4, 2], [(2.0,), (2.0,)], anchor_scales(2, 0.3, 0.8))
    a = anchors.shape[0]
    targets = [{"boxes": _xyxy([0.1, 0.1, 0.5, 0.6], [0.5, 0.5, 0.9, 0.8]),
                "labels": torch.tensor([0, 2])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)},
               {"boxes": _xyxy([0.0, 0.2, 1.0, 1.0]), "labels": torch.tensor([1])}]
    loc = torch.randn(3, a, 4, generator=g, requires_grad=True)
    conf = torch.randn(3, a, 4, generator=g, requires_grad=True)
    loss, parts = multibox_loss(loc, conf, anchors, targets)
    ref_loc, ref_conf = _reference_loss(loc, conf, anchors, targets)
    assert torch.allclose(parts["loc"], ref_loc) and torch.allclose(parts["conf"], ref_conf)
    assert torch.allclose(loss, ref_loc + ref_conf) and not parts["loc"].requires_grad
    loss.backward()
    assert loc.grad.abs().sum() > 0 and conf.grad[1].abs().sum() == 0  # no object: no terms
    # the exact answer costs (almost) nothing
    loc_t, cls_t = match(anchors, [t["boxes"] for t in targets], [t["labels"] for t in targets], 3)
    perfect, _ = multibox_loss(loc_t, F.one_hot(cls_t, 4).float() * 40, anchors, targets)
    assert perfect < 1e-6


def test_multibox_loss_checks_shapes():
    anchors = default_boxes([2], [(2.0,)], [0.3, 0.6])
    t = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}]
    with pytest.raises(ValueError, match="anchors for"):
        multibox_loss(torch.zeros(1, 5, 4), torch.zeros(1, 5, 3), anchors, t)
    with pytest.raises(ValueError, match="targets for a batch of 2"):
        multibox_loss(torch.zeros(2, 16, 4), torch.zeros(2, 16, 3), anchors, t)
