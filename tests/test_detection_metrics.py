"""VOC and COCO mAP on hand-computed cases, and COCO against pycocotools when installed."""
import contextlib
import io
import math

import numpy as np
import pytest
import torch

from dirnet.detection import DetectionEvaluator, average_precision, coco_ap, coco_map, voc_ap


def _gt(boxes, labels, difficult=None):
    d = {"boxes": torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
         "labels": torch.as_tensor(labels, dtype=torch.int64)}
    if difficult is not None:
        d["difficult"] = torch.tensor(difficult)
    return d


def _det(boxes, scores, labels):
    return {"boxes": torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "scores": torch.tensor(scores), "labels": torch.as_tensor(labels, dtype=torch.int64)}


# Image A: class 0 box g1 and a difficult class-0 box g2; class 1 box. Image B: class-0 box g3.
GTS = [_gt([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], [0, 0, 1], [False, True, False]),
       _gt([[0, 0, 10, 10]], [0])]
DETS = [_det([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 5], [1, 1, 2, 2]],
             [0.9, 0.8, 0.7, 0.95, 0.3], [0, 0, 0, 1, 2]),  # TP, duplicate, on difficult, IoU .5
        _det([[50, 50, 60, 60], [0, 0, 10, 9.2]], [0.6, 0.5], [0, 0])]  # FP, TP (IoU .92)


def test_average_precision_rules():
    # recall .5,.5,.5,1 / precision 1,.5,1/3,.5 (class 0 of the hand case, see below)
    r, p = np.array([0.5, 0.5, 0.5, 1]), np.array([1, 0.5, 1 / 3, 0.5])
    assert average_precision(r, p, "area") == pytest.approx(0.75)
    assert average_precision(r, p, "11point") == pytest.approx((6 + 5 * 0.5) / 11)
    # recall exactly 0.3 counts for the threshold 0.3 (thresholds are exactly k/10)
    assert average_precision(np.array([0.3]), np.array([1.0]), "11point") == pytest.approx(4 / 11)
    assert average_precision(np.array([]), np.array([]), "area") == 0.0
    with pytest.raises(ValueError, match="method"):
        average_precision(r, p, "101")


def test_voc_ap_by_hand():
    # class 0, by score: d1 TP, d2 duplicate FP, d3 on a difficult box (ignored), B's FP, B's TP
    # -> recall .5 .5 .5 1, precision 1 .5 1/3 .5 -> area .75, 11-point 8.5/11
    # class 1: IoU exactly 0.5 is a match (devkit: ovmax >= 0.5) -> 1; class 2: no box -> NaN
    ap = voc_ap(DETS, GTS, 3)
    assert ap[:2] == pytest.approx([0.75, 1.0]) and math.isnan(ap[2])
    assert voc_ap(DETS, GTS, 3, method="11point")[:2] == pytest.approx([8.5 / 11, 1.0])
    # the difficult box, if it were a regular box, makes d3 a TP
    plain = [_gt(GTS[0]["boxes"], GTS[0]["labels"]), GTS[1]]
    # recall/precision 1/3:1, 1/3:.5, 2/3:2/3, 2/3:.5, 1:.6 -> 1/3 * (1 + 2/3 + .6)
    assert voc_ap(DETS, plain, 3)[0] == pytest.approx((1 + 2 / 3 + 0.6) / 3)
    # no detections of a class with boxes -> 0
    assert voc_ap([_det([], [], []), _det([], [], [])], GTS, 3)[:2].tolist() == [0.0, 0.0]


def test_coco_ap_by_hand():
    # class 0 at IoU t <= .9: as VOC, recall reaches .5 at precision 1 and 1 at .5 ->
    # 101-point: 51 points at 1 and 50 at .5 = 76/101; at .95 B's TP (IoU .92) is a FP -> 51/101.
    # class 1: IoU exactly .5 matches only at t = .5 -> 1/10.
    ap = coco_ap(DETS, GTS, 3)
    assert ap.shape == (10, 3) and np.isnan(ap[:, 2]).all()
    assert ap[:9, 0] == pytest.approx([76 / 101] * 9) and ap[9, 0] == pytest.approx(51 / 101)
    assert ap[:, 1] == pytest.approx([1.0] + [0.0] * 9)  # 1 / (1 + eps), as COCOeval
    assert coco_map(DETS, GTS, 3) == pytest.approx((735 / 1010 + 0.1) / 2)


def test_evaluator_collects_batches():
    ev = DetectionEvaluator(3, ["a", "b", "c"])
    ev.update(DETS[:1], GTS[:1])
    ev.update(DETS[1:], GTS[1:])
    r = ev.compute()
    assert r["mAP50"] == pytest.approx(0.875) and r["AP50"]["a"] == pytest.approx(0.75)
    assert r["mAP50_voc07"] == pytest.approx((8.5 / 11 + 1) / 2)
    assert r["mAP50_95"] == pytest.approx((735 / 1010 + 0.1) / 2) and math.isnan(r["AP50"]["c"])
    assert r["num_images"] == 2 and r["num_detections"] == 7
    with pytest.raises(ValueError, match="no images"):
        DetectionEvaluator(2).compute()


def _random_case(seed, images=12, classes=3):
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for i in range(images):
        n = int(rng.integers(0, 6))
        xy = rng.uniform(0, 80, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (n, 2))], 1)
        labels = rng.integers(0, classes, n)
        gts.append({"boxes": boxes, "labels": labels})
        m = int(rng.integers(0, 8))  # jittered copies of the boxes + random boxes
        src = boxes[rng.integers(0, n, m)] if n else np.zeros((0, 4))
        jit = src + rng.normal(0, 3, src.shape)
        jit[:, 2:] = np.maximum(jit[:, 2:], jit[:, :2] + 1)
        xy = rng.uniform(0, 80, (m, 2))
        rnd = np.concatenate([xy, xy + rng.uniform(5, 40, (m, 2))], 1)
        b = np.concatenate([jit, rnd]) if n else rnd
        lab = np.concatenate([labels[rng.integers(0, n, m)] if n else np.zeros(0, int),
                              rng.integers(0, classes, m)]) if n else rng.integers(0, classes, m)
        if i == 0:  # more than 100 detections of one class: the maxDets cap matters
            b = np.concatenate([b, np.tile(boxes[:1] if n else rnd[:1], (120, 1))])
            lab = np.concatenate([lab, np.full(120, lab[0] if len(lab) else 0)])
        dets.append({"boxes": b, "labels": lab, "scores": rng.uniform(0, 1, len(b))})
    return dets, gts


def test_coco_matches_pycocotools():
    pycoco = pytest.importorskip("pycocotools.cocoeval")
    from pycocotools.coco import COCO

    for seed in range(10):
        dets, gts = _random_case(seed)
        ann, res = [], []
        for i, (d, g) in enumerate(zip(dets, gts)):
            for b, c in zip(g["boxes"], g["labels"]):
                w, h = b[2] - b[0], b[3] - b[1]
                ann.append({"id": len(ann) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                            "bbox": [b[0], b[1], w, h], "area": w * h, "iscrowd": 0})
            for b, c, s in zip(d["boxes"], d["labels"], d["scores"]):
                res.append({"image_id": i + 1, "category_id": int(c) + 1, "score": float(s),
                            "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = {"images": [{"id": i + 1} for i in range(len(gts))], "annotations": ann,
                            "categories": [{"id": c + 1} for c in range(3)]}
            coco.createIndex()
            e = pycoco.COCOeval(coco, coco.loadRes(res), "bbox")
            e.evaluate()
            e.accumulate()
            e.summarize()
        ap = coco_ap(dets, gts, 3)
        assert coco_map(dets, gts, 3) == pytest.approx(e.stats[0], abs=1e-12)
        assert np.nanmean(ap[0]) == pytest.approx(e.stats[1], abs=1e-12)
        assert np.nanmean(ap[5]) == pytest.approx(e.stats[2], abs=1e-12)
