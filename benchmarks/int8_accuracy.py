"""Accuracy of int8 exports (issue 15, item 3): top-1 of the int8 file vs the fp32 file.

    python benchmarks/int8_accuracy.py RUN_OR_CKPT [RUN_OR_CKPT ...] [--data-root DIR]
        [--calib-batches 8] [--heldout 5000] [--out benchmarks/results/int8_accuracy.json]

For each checkpoint: exports fp32 and int8 (estimators "mse" and "max" with
the default ``quantize_stem="auto"`` stem check, and "mse" with the stem forced
int8 or kept fp32: ``quantize_stem=True`` / ``False``), the
int8 ones calibrated exactly as ``dirnet export --precision int8 --calibrate
RUN`` does (``--calib-batches`` x 64 images of the run's training part, a
seeded random subset, no augmentation), and scores every file with the native
runtime on

* **held-out training images**: the next ``--heldout`` images of the same
  seeded permutation of the training part (never used for calibration, never
  the test split): the data the estimator is chosen on;
* the **test split** (all of it, or the run's ``data.test_subset``): the
  figures reported (``test_top1_int8``: the default estimator, mse, which the
  held-out comparison chose).

Also records the calibration cost (images, seconds). The JSON holds the
command and the machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _score(rt, loader) -> tuple[float, int, np.ndarray]:
    correct = n = 0
    preds = []
    for x, y in loader:
        p = np.asarray(rt(x.numpy())).argmax(1)
        preds.append(p)
        correct += int((p == y.numpy()).sum())
        n += len(y)
    return 100.0 * correct / n, n, np.concatenate(preds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--data-root", default=None)
    p.add_argument("--calib-batches", type=int, default=8)
    p.add_argument("--heldout", type=int, default=5000)
    p.add_argument("--out", default="benchmarks/results/int8_accuracy.json")
    a = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import machine_info

    from dirnet.checkpoint import load, load_model
    from dirnet.data import BatchLoader, build
    from dirnet.deploy import exporter, runtime
    from dirnet.deploy.cli import CALIB_BATCH, calibration_batches

    results = []
    tmp = tempfile.TemporaryDirectory()
    for target in a.checkpoints:
        model, cfg = load_model(target)
        ck = load(target)
        size = (int(ck["in_channels"]), int(ck.get("image_size", 32)), int(ck.get("image_size", 32)))
        root = a.data_root if a.data_root is not None else cfg.data.root
        bundle = build(cfg.data.name, root, val_size=cfg.data.val_size, seed=cfg.seed)
        # held-out: the images after the calibration subset in the same seeded order
        order = torch.randperm(len(bundle.train), generator=torch.Generator().manual_seed(cfg.seed))
        n_cal = min(len(order), a.calib_batches * CALIB_BATCH)
        held = order[n_cal:n_cal + a.heldout]
        test = bundle.test
        if cfg.data.test_subset:
            test = test.subset(torch.arange(min(int(cfg.data.test_subset), len(test))))
        loaders = {
            "heldout_train": BatchLoader(bundle.train.subset(held), 500, train=False, augment=None, seed=0,
                                         mean=bundle.mean, std=bundle.std),
            "test": BatchLoader(test, 500, train=False, augment=None, seed=0, mean=bundle.mean, std=bundle.std),
        }
        t0 = time.perf_counter()
        calib = calibration_batches(cfg, a.data_root, a.calib_batches)
        load_s = time.perf_counter() - t0
        row = {"checkpoint": str(target), "data": cfg.data.name, "calibration_images": sum(len(x) for x in calib),
               "calibration_data_seconds": round(load_s, 3), "heldout_images": int(len(held)), "files": {}}
        preds = {}
        for name, kw in (("fp32", {"precision": "fp32"}),
                         ("int8_mse", {"precision": "int8", "calibration": calib, "calibration_estimator": "mse"}),
                         ("int8_max", {"precision": "int8", "calibration": calib, "calibration_estimator": "max"}),
                         ("int8_stem_int8", {"precision": "int8", "calibration": calib, "quantize_stem": True}),
                         ("int8_keep_stem", {"precision": "int8", "calibration": calib, "quantize_stem": False})):
            path = Path(tmp.name) / f"{name}.dbnn"
            t0 = time.perf_counter()
            exporter.export(model, path, input_size=size, **kw)
            export_s = time.perf_counter() - t0
            rt = runtime.load(path)
            f = {"bytes": path.stat().st_size, "export_seconds": round(export_s, 3)}
            if "quantization" in rt.header:
                f["quantization"] = rt.header["quantization"]
            for split, loader in loaders.items():
                top1, n, pr = _score(rt, loader)
                f[f"{split}_top1"] = top1
                f[f"{split}_n"] = n
                preds[(name, split)] = pr
            row["files"][name] = f
            print(target, name, {k: v for k, v in f.items() if "top1" in k}, flush=True)
        for name in ("int8_mse", "int8_max", "int8_stem_int8", "int8_keep_stem"):
            for split in loaders:
                row["files"][name][f"{split}_top1_changed_vs_fp32"] = int(
                    (preds[(name, split)] != preds[("fp32", split)]).sum())
        fp = row["files"]["fp32"]
        chosen = max(("int8_mse", "int8_max"), key=lambda k: (row["files"][k]["heldout_train_top1"], k == "int8_mse"))
        row["better_on_heldout"] = chosen  # ties go to mse
        row["test_top1_fp32"] = fp["test_top1"]
        row["test_top1_int8"] = row["files"]["int8_mse"]["test_top1"]  # the library's defaults (mse, auto stem)
        row["test_delta_points"] = round(row["test_top1_int8"] - fp["test_top1"], 4)
        row["within_0.3_points"] = abs(row["test_delta_points"]) <= 0.3
        results.append(row)
    out = {"command": "python benchmarks/int8_accuracy.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": machine_info(), "results": results}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    for r in results:
        print(f"{r['checkpoint']}: fp32 {r['test_top1_fp32']:.2f}% int8 (mse; {r['better_on_heldout']} on held-out) "
              f"{r['test_top1_int8']:.2f}% ({r['test_delta_points']:+.2f} pt)")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
