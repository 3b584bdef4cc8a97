"""Data-pipeline throughput: images/s of the training loader against data.workers.

    .venv/bin/python benchmarks/data_throughput.py [--root IMAGEFOLDER] [--workers 0 1 2]
        [--images 512] [--batch 64] [--size 224] [--rounds 3] [--out FILE]

Without ``--root`` it writes synthetic ImageNet-like JPEGs (500x375, quality
90, smooth colour fields plus noise, so file sizes and decode cost are like
photos') into a temporary folder; with ``--root`` it reads a real
``train/CLASS/*.jpg`` folder. Each worker count iterates the same epoch of
``rrc_flip`` batches at ``--size`` (what ImageNet training does); the counts
take turns, ``--rounds`` times, and the median images/s of each is reported
with its ratio to the in-process rate (workers 0), measured side by side on
the same machine. The in-process rate with one thread is the per-core rate
a GPU node's sizing follows from. Writes benchmarks/results/data_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

from dirnet.data import BatchLoader, build  # noqa: E402


def synthetic_folder(root: Path, images: int, classes: int = 8, seed: int = 0) -> Path:
    """``images`` photo-like 500x375 JPEGs in ``classes`` class folders under root/train."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:375, 0:500].astype(np.float32)
    for i in range(images):
        d = root / "train" / f"n{i % classes:08d}"
        d.mkdir(parents=True, exist_ok=True)
        f = rng.uniform(0.005, 0.03, (3, 2))
        ph = rng.uniform(0, 6.3, (3, 2))
        base = np.stack([127 + 90 * np.sin(f[c, 0] * xx + ph[c, 0]) * np.cos(f[c, 1] * yy + ph[c, 1])
                         for c in range(3)], axis=-1)
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"img_{i:05d}.jpg", quality=90)
    return root


def images_per_s(loader: BatchLoader, epoch: int) -> float:
    loader.set_epoch(epoch)
    t0 = time.perf_counter()
    n = sum(int(y.numel()) for _, y in loader)
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", help="an image folder (train/CLASS/*.jpg); default: synthetic JPEGs")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--kinds", nargs="+", default=["threads", "processes"],
                    choices=["threads", "processes"], help="worker kinds to time (workers > 0)")
    ap.add_argument("--images", type=int, default=512, help="synthetic images to write")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"
                                         / "data_throughput.json"))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.root) if a.root else synthetic_folder(Path(tmp), a.images)
        bundle = build("imagefolder", root, image_size=a.size)
        mb = sum(Path(p).stat().st_size for p, _ in bundle.train.samples) / len(bundle.train) / 1e3

        def loader(workers: int, kind: str) -> BatchLoader:
            return BatchLoader(bundle.train, a.batch, train=True, augment="rrc_flip", seed=0,
                               mean=bundle.mean, std=bundle.std, workers=workers,
                               worker_kind=kind)

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        per_core = statistics.median(images_per_s(loader(0, "threads"), r)
                                     for r in range(a.rounds))
        torch.set_num_threads(threads)
        setups = [(w, k) for w in a.workers for k in (a.kinds if w else ["in-process"])]
        rates: dict[tuple[int, str], list[float]] = {s: [] for s in setups}
        for r in range(a.rounds):
            for w, k in setups:  # take turns: a busy moment hits every setup alike
                rates[(w, k)].append(images_per_s(loader(w, "threads" if w == 0 else k), r))
    med = {s: statistics.median(v) for s, v in rates.items()}
    base = med.get((0, "in-process"))
    rows = [{"workers": w, "kind": k, "images_per_s": round(med[(w, k)], 1),
             "all_rounds": [round(v, 1) for v in rates[(w, k)]],
             "ratio_to_in_process": round(med[(w, k)] / base, 3) if base else None}
            for w, k in setups]
    result = {
        "what": f"BatchLoader rrc_flip batches of {a.batch} at {a.size}x{a.size}, images/s "
                f"(median of {a.rounds} rounds, worker counts taking turns)",
        "data": a.root or f"synthetic: {a.images} JPEGs 500x375 q90 ({mb:.0f} kB each)",
        "per_core_images_per_s": round(per_core, 1),
        "rows": rows,
        "command": "python benchmarks/data_throughput.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"per core (1 thread, in-process): {per_core:.0f} images/s; data: {result['data']}")
    print("| data.workers | kind | images/s | vs in-process |\n|---:|---|---:|---:|")
    for row in rows:
        print(f"| {row['workers']} | {row['kind']} | {row['images_per_s']:.0f} | "
              f"{row['ratio_to_in_process']}x |")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
