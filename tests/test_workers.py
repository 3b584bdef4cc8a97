"""data.workers: batches made in worker processes are the in-process batches, bit for bit."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import dirnet.data as D
from dirnet.config import load_config
from dirnet.train import train
from dirnet.train.builders import default_workers


def _jpeg_folder(root: Path, n_per_class: int = 6, classes: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        d = root / "train" / f"c{c}"
        d.mkdir(parents=True)
        for i in range(n_per_class):
            arr = rng.integers(0, 256, (60 + 7 * i, 80 + 5 * c, 3), dtype=np.uint8)
            Image.fromarray(arr).save(d / f"{i}.jpg", quality=85)
    return root


def _batches(loader, epoch, start=0):
    loader.set_epoch(epoch)
    return [(x.clone(), y.clone()) for x, y in loader.iter_from(start)]


def _same(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


@pytest.mark.parametrize("kind", D.WORKER_KINDS)
@pytest.mark.parametrize("workers", [1, 2])
def test_workers_give_the_in_process_batches(tmp_path, workers, kind):
    bundle = D.build("imagefolder", _jpeg_folder(tmp_path), image_size=32)
    kw = dict(train=True, augment="rrc_flip", seed=7, mean=bundle.mean, std=bundle.std,
              rank=1, world_size=2)
    ref = D.BatchLoader(bundle.train, 4, **kw)
    par = D.BatchLoader(bundle.train, 4, workers=workers, prefetch=1, worker_kind=kind, **kw)
    for epoch, start in ((0, 0), (3, 1)):  # also mid-epoch, as a resume starts
        _same(_batches(ref, epoch, start), _batches(par, epoch, start))


@pytest.mark.parametrize("kind", D.WORKER_KINDS)
def test_in_memory_sets_too_and_eval_order(tmp_path, kind):
    bundle = D.build("fashion_mnist_demo")
    for train_, aug in ((True, bundle.train_augment), (False, None)):
        kw = dict(train=train_, augment=aug, seed=1, mean=bundle.mean, std=bundle.std)
        ref = D.BatchLoader(bundle.test, 256, **kw)
        par = D.BatchLoader(bundle.test, 256, workers=2, worker_kind=kind, **kw)
        _same(_batches(ref, 2), _batches(par, 2))


def test_an_early_stop_leaves_no_worker_thread(tmp_path):
    import threading

    bundle = D.build("fashion_mnist_demo")
    loader = D.BatchLoader(bundle.test, 64, train=False, augment=None, seed=0, mean=bundle.mean,
                           std=bundle.std, workers=2)
    it = iter(loader)
    next(it)
    it.close()  # what a Ctrl-C between batches does to the epoch's iterator
    assert not [t for t in threading.enumerate() if t.name.startswith("dirnet-loader")]


@pytest.mark.parametrize("kind", D.WORKER_KINDS)
def test_a_worker_error_is_raised_as_itself(tmp_path, kind):
    root = _jpeg_folder(tmp_path, n_per_class=2, classes=2)
    (root / "train" / "c1" / "1.jpg").write_bytes(b"not a jpeg")
    bundle = D.build("imagefolder", root, image_size=16)
    loader = D.BatchLoader(bundle.train, 2, train=False, augment=None, seed=0,
                           mean=bundle.mean, std=bundle.std, workers=2, worker_kind=kind)
    with pytest.raises(ValueError) as e:
        _batches(loader, 0)
    assert "1.jpg" in str(e.value) and "Traceback" not in str(e.value)


def test_bad_worker_settings():
    bundle = D.build("fashion_mnist_demo")
    for kw in ({"workers": -1}, {"prefetch": 0}, {"workers": 1.5}, {"worker_kind": "fibers"}):
        with pytest.raises(ValueError, match="workers|prefetch|worker_kind"):
            D.BatchLoader(bundle.test, 8, train=False, augment=None, seed=0, mean=bundle.mean,
                          std=bundle.std, **kw)


def test_default_workers(monkeypatch):
    assert default_workers(torch.device("cpu")) == 0
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_workers(torch.device("cuda")) == 3  # 16 CPUs / 4 ranks, less the rank's own
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert default_workers(torch.device("cuda")) == 8


TINY = {"model": {"arch": "resnet20", "kwargs": {"width": 8}}, "method": "dirnet",
        "data": {"name": "fashion_mnist_demo", "train_subset": 192, "test_subset": 96,
                 "batch_size": 64},
        "schedule": {"epochs": 2}, "log": {"progress": False, "tensorboard": False}}


def _rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("epoch_s"), r.pop("data_wait_s")
    return rows


def test_training_with_workers_and_resuming_with_another_count_is_exact(tmp_path):
    cfg = load_config(base=TINY)
    a = train(cfg.replace(out_dir=str(tmp_path / "a"), **{"data.workers": 0}))
    b_cfg = cfg.replace(out_dir=str(tmp_path / "b"), **{"data.workers": 2})
    train(b_cfg, max_epochs=1)
    b = train(b_cfg.replace(**{"data.workers": 1, "data.worker_kind": "processes"}),
              resume=True)  # another count and kind on resume
    assert _rows(Path(a["run_dir"])) == _rows(Path(b["run_dir"]))
    wa = torch.load(Path(a["run_dir"]) / "checkpoints/last.pt", weights_only=True)["model"]
    wb = torch.load(Path(b["run_dir"]) / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert "data_wait_s" in json.loads((Path(a["run_dir"]) / "metrics.jsonl")
                                       .read_text().splitlines()[0])


def test_throughput_benchmark_runs(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "t.json"
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "data_throughput.py"),
                        "--images", "16", "--batch", "4", "--size", "32", "--rounds", "1",
                        "--workers", "0", "2", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    assert [(row["workers"], row["kind"]) for row in res["rows"]] == [
        (0, "in-process"), (2, "threads"), (2, "processes")]
    assert res["rows"][0]["ratio_to_in_process"] == 1.0 and res["per_core_images_per_s"] > 0
    assert "cpu" in res["machine"]
