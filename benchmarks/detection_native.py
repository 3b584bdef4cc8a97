"""BCCD detectors on the native engine: mAP of the run vs its .dbnn exports, and batch-1 latency.

    python benchmarks/detection_native.py                      # the fp row, and dirnet if its checkpoint is here
    python benchmarks/detection_native.py --runs runs/ssd_resnet20_fp_bccd --reps 30

For each run (default: runs/ssd_resnet20_fp_bccd, the committed fp row, and
runs/ssd_resnet20_dirnet_bccd when its checkpoint exists locally):

* exports it with ``dirnet export`` to fp32 and fp16 ``.dbnn`` files (temporary),
* ``dirnet eval``'s figures (``evaluate_target``: same data, loader, decoding
  defaults and evaluator) of the run and of both files on the test split,
* the largest |difference| of the assembled ``(loc, conf)`` between PyTorch
  (eval mode) and the fp32 file on the first test images,
* batch-1 latency at ``model.input_size`` (300x300) on ``--threads`` threads:
  PyTorch's ``model(x)`` (which returns ``(loc, conf)``) against
  ``NativeDetector(x)`` (native network + the Python reassembly of the maps
  into ``(loc, conf)``) on each ``--kernels`` path, medians of interleaved runs
  (``dirnet.deploy.bench``'s harness); ``postprocess`` (decode + NMS, the same
  Python code for both) is timed apart.

Writes ``benchmarks/results/detection_native.json`` (the exact command, the
machine, the load average before and after).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = ("runs/ssd_resnet20_fp_bccd", "runs/ssd_resnet20_dirnet_bccd")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--kernels", nargs="+", default=None, help="default: the best path, and avx2")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget", type=float, default=30.0, help="seconds at most per timed configuration")
    p.add_argument("--images", type=int, default=8, help="test images for the output comparison")
    p.add_argument("--no-eval", action="store_true", help="skip the mAP evaluations")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "detection_native.json"))
    return p


def _export(run: str, out: Path, precision: str) -> Path:
    from dirnet.deploy.cli import export_main

    export_main([run, "-o", str(out), "--precision", precision])
    return out


def _figures(target: str) -> dict:
    from dirnet.evaluate import evaluate_target

    t0 = time.perf_counter()
    res = evaluate_target(target)
    return {"map50": res["map50"], "map": res["map"], "map50_voc07": res["map50_voc07"],
            "n": res["n"], "eval_s": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from machine import machine_info

    from dirnet import detection as det
    from dirnet.checkpoint import load_model, resolve
    from dirnet.deploy._native import kernels
    from dirnet.deploy.bench import _interleaved
    from dirnet.deploy.detector import load_detector

    K = kernels()
    paths = args.kernels or [K.paths()[0]] + (["avx2"] if "avx2" in K.paths()[1:] else [])
    torch.set_num_threads(args.threads)
    report = {
        "command": "python benchmarks/detection_native.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info(),
        "kernel_paths": K.paths(),
        "threads": args.threads,
        "batch": 1,
        "timing": f"median of up to {args.reps} interleaved runs after {args.warmup} warm-up runs "
                  "(dirnet.deploy.bench harness)",
        "load_average_start": list(os.getloadavg()),
        "rows": [],
        "skipped": [],
    }
    tmp = tempfile.TemporaryDirectory()
    for run in args.runs:
        try:
            resolve(run, "last")
        except Exception as exc:  # noqa: BLE001 - a run without its checkpoint here
            report["skipped"].append({"run": run, "why": str(exc).splitlines()[0]})
            print(f"skip {run}: {exc}", flush=True)
            continue
        name = Path(run).name
        model, cfg = load_model(run)
        files = {p: _export(run, Path(tmp.name) / f"{name}_{p}.dbnn", p) for p in ("fp32", "fp16")}
        row: dict = {"run": run, "method": cfg.method, "arch": cfg.model.arch,
                     "input_size": cfg.model.input_size,
                     "dbnn_bytes": {p: f.stat().st_size for p, f in files.items()},
                     "checkpoint_weights_bytes": sum(v.numel() * v.element_size()
                                                     for v in model.state_dict().values())}
        # -- accuracy: dirnet eval of the run and of the files
        if not args.no_eval:
            row["eval"] = {"run": _figures(run)}
            for p, f in files.items():
                row["eval"][f"dbnn_{p}"] = _figures(str(f))
            print(name, json.dumps(row["eval"]), flush=True)
        # -- outputs on real test images
        from dirnet.train.task_detection import build_voc

        bundle = build_voc(cfg)
        loader = det.DetectionLoader(bundle.test, args.images, train=False,
                                     input_size=cfg.model.input_size, seed=0)
        x, _ = next(iter(loader))
        native = load_detector(files["fp32"], threads=args.threads)
        with torch.no_grad():
            ref = model(x)
        got = native(x)
        row["fp32_max_abs_diff"] = {"loc": float((got[0] - ref[0]).abs().max()),
                                    "conf": float((got[1] - ref[1]).abs().max()),
                                    "images": int(x.shape[0])}
        # -- batch-1 latency
        x1 = x[:1].contiguous()
        fns = {}

        def torch_fwd(x1=x1):
            with torch.no_grad():
                model(x1)
        fns["torch_fp32"] = torch_fwd
        for p in paths:
            rt = load_detector(files["fp32"], threads=args.threads, kernel=p)
            fns[f"native_fp32_{p}"] = (lambda rt=rt: rt(x1))
        rt16 = load_detector(files["fp16"], threads=args.threads, kernel=paths[0])
        fns[f"native_fp16_{paths[0]}"] = (lambda: rt16(x1))
        med = _interleaved(fns, args.warmup, args.reps, args.budget)
        row["ms"] = {k: v["median"] * 1e3 for k, v in med.items()}
        row["min_ms"] = {k: v["min"] * 1e3 for k, v in med.items()}
        row["runs"] = min(v["n"] for v in med.values())
        row["speedup_vs_torch"] = {k: med["torch_fp32"]["median"] / v["median"]
                                   for k, v in med.items() if k != "torch_fp32"}
        with torch.no_grad():
            loc, conf = model(x1)
        post = _interleaved({"postprocess": lambda: det.postprocess(loc, conf, model.anchors)},
                            1, args.reps, args.budget)
        row["postprocess_ms"] = post["postprocess"]["median"] * 1e3
        print(name, json.dumps({k: round(v, 2) for k, v in row["ms"].items()}),
              f"postprocess {row['postprocess_ms']:.2f} ms", flush=True)
        report["rows"].append(row)
    report["load_average_end"] = list(os.getloadavg())
    tmp.cleanup()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
