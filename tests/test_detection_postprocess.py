"""NMS against a brute-force greedy reference, and the decode + NMS + top-k pipeline."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dirnet.detection import batched_nms, cxcywh_to_xyxy, default_boxes, encode, nms, postprocess


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def greedy_reference(boxes, scores, groups, thr) -> list[int]:
    """Textbook greedy NMS per group; result by decreasing score, ties by index."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if all(groups[j] != groups[i] or _iou(boxes[i], boxes[j]) <= thr for j in kept):
            kept.append(i)
    return kept


@st.composite
def box_sets(draw):
    n = draw(st.integers(0, 40))
    coords = st.integers(0, 12)  # a coarse grid: many overlaps, equal IoUs and exact ties
    rows = []
    for _ in range(n):
        x0, y0 = draw(coords), draw(coords)
        rows.append((x0, y0, x0 + draw(st.integers(1, 6)), y0 + draw(st.integers(1, 6))))
    scores = draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 0.7, 0.9]), min_size=n, max_size=n))
    groups = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    thr = draw(st.sampled_from([0.0, 0.2, 0.3, 0.45, 0.5, 1 / 3, 0.7]))
    return rows, scores, groups, thr


@settings(max_examples=150, deadline=None)
@given(box_sets())
def test_batched_nms_equals_greedy_reference(case):
    rows, scores, groups, thr = case
    boxes = torch.tensor(rows, dtype=torch.float32).reshape(-1, 4) / 8  # exact in binary
    s = torch.tensor(scores, dtype=torch.float32)
    g = torch.tensor(groups, dtype=torch.int64)
    expected = greedy_reference([[v / 8 for v in r] for r in rows], scores, groups, thr)
    kept = batched_nms(boxes, s, g, thr)
    assert kept.tolist() == expected
    # small blocks (one group per chunk) give the same answer
    assert batched_nms(boxes, s, g, thr, max_entries=1).tolist() == expected


def test_nms_single_group():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    assert nms(boxes, scores, 0.99).tolist() == [3, 0, 1, 2]
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


def test_postprocess_decodes_thresholds_and_keeps_top_k():
    anchors = default_boxes([4], [(2.0,)], [0.3, 0.6])  # 64 anchors
    a = anchors.shape[0]
    loc = torch.zeros(2, a, 4)
    conf = torch.full((2, a, 3), -10.0)
    conf[..., 2] = 10.0  # background everywhere ...
    conf[0, 5] = torch.tensor([10.0, -10, -10])  # ... but anchor 5 is class 0 in image 0,
    conf[0, 40] = torch.tensor([-10.0, 10, -10])  # anchor 40 class 1,
    conf[1, 7] = torch.tensor([3.0, 3, -10])  # and anchor 7 is both classes 0 and 1 in image 1
    target = cxcywh_to_xyxy(anchors[40]) + torch.tensor([0.01, 0.0, 0.01, 0.0])
    loc[0, 40] = encode(target[None], anchors[40:41])[0]
    out = postprocess(loc, conf, anchors, score_threshold=0.1)
    assert len(out) == 2
    assert out[0]["labels"].tolist() == [0, 1] and out[0]["scores"][0] > 0.99
    assert torch.allclose(out[0]["boxes"][0], cxcywh_to_xyxy(anchors[5]).clamp(0, 1), atol=1e-6)
    assert torch.allclose(out[0]["boxes"][1], target.clamp(0, 1), atol=1e-5)
    assert sorted(out[1]["labels"].tolist()) == [0, 1]  # per-class NMS keeps both
    assert torch.allclose(out[1]["scores"], torch.tensor([0.5, 0.5]), atol=1e-4)
    assert len(postprocess(loc, conf, anchors, score_threshold=0.1, top_k=1)[0]["labels"]) == 1
    assert len(postprocess(loc, conf, anchors, score_threshold=0.6)[1]["labels"]) == 0
    many = postprocess(torch.zeros(1, a, 4), torch.zeros(1, a, 3), anchors, iou_threshold=1.0,
                       score_threshold=0.0, top_k=1000, pre_nms_top_k=10)
    assert len(many[0]["labels"]) == 20  # 10 per class
    for k in ("boxes", "scores", "labels"):
        assert k in many[0]
    assert many[0]["boxes"].min() >= 0 and many[0]["boxes"].max() <= 1
