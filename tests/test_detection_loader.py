"""Box-aware augmentation and the DetectionLoader's interface and determinism contract."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dirnet.data.seeding import generator
from dirnet.detection import AugmentConfig, DetectionLoader, VOCDataset
from dirnet.detection.augment import box_iou_np, photometric, render, sample_window, transform
from dirnet.detection.toy import make_toy_voc, voc_xml

FILL = (124, 116, 104)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    return make_toy_voc(tmp_path_factory.mktemp("toy"), 20, size=(80, 60), seed=1)


def _bright_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(pixels.min(2) > 200)
    return None if len(xs) == 0 else (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_eval_transform_is_a_plain_resize():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    boxes = np.array([[0, 0, 53, 37], [10, 5, 20, 30]], np.float32)
    pixels, rel, idx = transform(image, boxes, 24, FILL, None)
    np.testing.assert_array_equal(pixels, np.asarray(image.resize((24, 24), Image.BILINEAR)))
    np.testing.assert_allclose(rel, boxes / [53, 37, 53, 37], rtol=1e-6)
    assert idx.tolist() == [0, 1]


@pytest.mark.parametrize("seed", range(40))
def test_augmented_boxes_follow_the_pixels(seed):
    # a white rectangle on black: after zoom-out, crop, flip and resize the bright region
    # of the output must be the transformed box (within resampling blur)
    w, h = 120, 90
    x = np.zeros((h, w, 3), np.uint8)
    box = np.array([[30, 20, 80, 70]], np.float32)
    x[20:70, 30:80] = 255
    config = AugmentConfig(photometric=False)
    pixels, rel, idx = transform(Image.fromarray(x), box, 64, FILL, generator(seed), config)
    assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8
    found = _bright_box(pixels)
    if len(idx) == 0:  # the crop left the box's centre out
        return
    assert found is not None and (rel >= 0).all() and (rel <= 1).all()
    np.testing.assert_allclose(np.array(found), rel[0] * 64, atol=2.0)


def test_zoom_out_fills_with_the_mean_and_crop_respects_min_iou():
    boxes = np.array([[10, 10, 50, 40], [60, 30, 90, 70]], np.float64)
    hits = 0
    for s in range(60):
        cfg = AugmentConfig(expand=False, min_ious=(0.5,), flip=False)
        win, flip = sample_window(100, 80, boxes, generator(s), cfg)
        whole = np.allclose(win, [0, 0, 100, 80])
        assert not flip
        if not whole:
            hits += 1
            assert box_iou_np(win[None], boxes).max() >= 0.5
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            assert ((centres > win[:2]) & (centres < win[2:])).all(1).any()
    assert hits > 10
    out = render(Image.new("RGB", (10, 10), (255, 255, 255)), np.array([-10.0, -10, 30, 30]),
                 8, FILL)
    assert (out[0, 0] == FILL).all() and (out[4, 4] == FILL).all() and (out[2:4, 2:4] == 255).all()


def test_photometric_is_deterministic_and_keeps_grey_grey_without_colour_parts():
    x = np.random.default_rng(0).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    a, b = photometric(x, generator(3)), photometric(x, generator(3))
    assert a.dtype == np.uint8 and a.shape == x.shape and (a == b).all()
    grey = np.full((4, 4, 3), 100, np.uint8)
    changed = [photometric(grey, generator(s)) for s in range(30)]
    assert any((c != 100).any() for c in changed)


def test_loader_batches_targets_and_eval_mode(toy):
    ds = VOCDataset(toy, "train")
    loader = DetectionLoader(ds, 4, train=False, input_size=32, seed=0)
    assert len(loader) == 3 and loader.indices().tolist() == list(range(10))
    x, targets = next(iter(loader))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and len(targets) == 4
    for i, t in enumerate(targets):
        ann = ds.annotations[i]
        assert t["boxes"].dtype == torch.float32 and t["labels"].dtype == torch.int64
        assert t["difficult"].dtype == torch.bool and int(t["index"]) == i
        assert t["orig_size"].tolist() == [60, 80]
        np.testing.assert_allclose(t["boxes"].numpy(), ann.boxes / [80, 60, 80, 60], rtol=1e-6)
        assert t["labels"].tolist() == ann.labels.tolist()


def test_mean_coloured_image_normalises_to_zero(tmp_path):
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (tmp_path / sub).mkdir(parents=True)
    Image.new("RGB", (16, 16), FILL).save(tmp_path / "JPEGImages/a.png")
    (tmp_path / "Annotations/a.xml").write_text(
        voc_xml("a.png", 16, 16, [("x", (1, 1, 8, 8), True), ("y", (2, 2, 9, 9), False)]))
    (tmp_path / "ImageSets/Main/train.txt").write_text("a\n")
    ds = VOCDataset(tmp_path)
    x, t = next(iter(DetectionLoader(ds, 1, train=False, input_size=8, seed=0)))
    assert x.abs().max() < 0.01 and t[0]["difficult"].tolist() == [True, False]
    _, t = next(iter(DetectionLoader(ds, 1, train=True, input_size=8, seed=0, augment=None)))
    assert t[0]["labels"].tolist() == [1]  # difficult boxes left out of training targets


def _batches(loader, start=0):
    return [(x.clone(), [{k: v.clone() for k, v in t.items()} for t in ts])
            for x, ts in loader.iter_from(start)]


def _same(a, b):
    assert len(a) == len(b)
    for (xa, ta), (xb, tb) in zip(a, b):
        assert torch.equal(xa, xb)
        for u, v in zip(ta, tb):
            assert all(torch.equal(u[k], v[k]) for k in u)


def test_determinism_contract(toy):
    ds = VOCDataset(toy, "train")
    mk = lambda **kw: DetectionLoader(ds, 3, train=True, input_size=32, seed=5, **kw)  # noqa: E731
    a = mk()
    a.set_epoch(2)
    full = _batches(a)
    b = mk()
    b.set_epoch(0)
    _batches(b)  # iterating another epoch first changes nothing
    b.set_epoch(2)
    _same(_batches(b), full)
    _same(_batches(b, 2), full[2:])  # mid-epoch resume
    b.set_epoch(3)
    assert not torch.equal(b.indices(), a.indices())
    # same order on every rank before sharding; shards cover the epoch
    ranks = [mk(rank=r, world_size=3) for r in range(3)]
    for r in ranks:
        r.set_epoch(2)
    assert len({len(r) for r in ranks}) == 1
    assert set(torch.cat([r.indices() for r in ranks]).tolist()) == set(range(10))
    assert torch.equal(torch.stack([r.indices() for r in ranks], 1).flatten()[:10], a.indices())


def test_loader_argument_errors(toy):
    ds = VOCDataset(toy, "train")
    with pytest.raises(ValueError, match="batch_size"):
        DetectionLoader(ds, 0, train=True, input_size=32, seed=0)
    with pytest.raises(ValueError, match="rank"):
        DetectionLoader(ds, 2, train=True, input_size=32, seed=0, rank=2, world_size=2)
    with pytest.raises(TypeError, match="VOCDataset"):
        DetectionLoader([1, 2], 2, train=True, input_size=32, seed=0)
    loader = DetectionLoader(ds, 4, train=True, input_size=32, seed=0, drop_last=True)
    assert len(loader) == 2
    with pytest.raises(ValueError, match="start_batch"):
        next(loader.iter_from(3))


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_workers_give_the_in_process_batches(toy, kind):
    ds = VOCDataset(toy, "train")
    kw = dict(train=True, input_size=32, seed=3, rank=1, world_size=2)
    ref = DetectionLoader(ds, 2, **kw)
    par = DetectionLoader(ds, 2, workers=2, prefetch=1, worker_kind=kind, **kw)
    for epoch, start in ((0, 0), (4, 1)):
        ref.set_epoch(epoch)
        par.set_epoch(epoch)
        _same(_batches(ref, start), _batches(par, start))


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_a_worker_error_is_raised_as_itself(tmp_path, kind):
    make_toy_voc(tmp_path, 4, size=(32, 32))
    ds = VOCDataset(tmp_path, "train")
    (tmp_path / "JPEGImages" / "toy_00001.jpg").write_bytes(b"not a jpeg")
    loader = DetectionLoader(ds, 1, train=False, input_size=16, seed=0, workers=2,
                             worker_kind=kind)
    with pytest.raises(ValueError, match="toy_00001.jpg: cannot read image"):
        list(loader)
