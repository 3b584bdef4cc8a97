"""Each engine timed on its own, back to back: a check on `dirnet bench`'s interleaved figures.

    python benchmarks/deploy_back_to_back.py --arch mobilenet_v2 --threads 1 \
        --out benchmarks/results/deploy_back_to_back_mobilenet_v2.json

`dirnet bench` times PyTorch, ONNX Runtime and the native paths round-robin,
with a settle pause before every call, so each call starts after another
engine has used the caches. Here the same models (same seed, export and
session settings as `dirnet bench`, batch 1) run ``--reps`` times in a row per
engine after warm-up, in ``--rounds`` passes over the engines: the warm,
steady-state latency. Prints one line per engine and pass (median and minimum
ms) and, with ``--out``, writes them as JSON with the machine and the command.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--input-size", type=int, nargs=3, default=[3, 224, 224])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--precision", choices=("fp16", "int8"), default="fp16",
                    help="int8: the int8 export (calibrated on random normal inputs, as dirnet bench does) "
                         "timed beside the fp16 one (native_<path>_fp16)")
    ap.add_argument("--out", default=None, help="JSON path (default: print only)")
    args = ap.parse_args(argv)

    import torch

    from dirnet import models
    from dirnet.convert import binarize
    from dirnet.deploy import bench, exporter, runtime
    from dirnet.deploy._native import kernels

    torch.set_num_threads(args.threads)
    size = tuple(args.input_size)
    torch.manual_seed(0)
    fp = models.create(args.arch, num_classes=1000 if size[1] >= 128 else 10).eval()
    bnn = binarize(copy.deepcopy(fp), method="dirnet").eval()
    tmp = Path(tempfile.mkdtemp())
    exporter.export(bnn, tmp / "m.dbnn", precision="fp16", input_size=size)
    files = {"": tmp / "m.dbnn"}
    if args.precision == "int8":
        g = torch.Generator().manual_seed(1)
        exporter.export(bnn, tmp / "m8.dbnn", precision="int8", input_size=size,
                        calibration=[torch.randn(2, *size, generator=g) for _ in range(2)],
                        quantize_stem=True)  # random weights: the stem check has nothing to judge
        files = {"": tmp / "m8.dbnn", "_fp16": tmp / "m.dbnn"}
    x = torch.randn(1, *size)
    xn = x.numpy()

    def run_torch() -> None:
        with torch.no_grad():
            fp(x)

    fns = {"torch_fp32": run_torch}
    ort = bench._onnxruntime()
    if ort is not None:
        bench._onnx_export(fp, x, tmp / "m.onnx")
        sess = bench._ort_session(ort, tmp / "m.onnx", args.threads)
        feed = {sess.get_inputs()[0].name: xn}
        fns["onnxruntime_fp32"] = lambda: sess.run(None, feed)
    K = kernels()
    for suffix, path in files.items():
        for p in [K.paths()[0]] + (["avx2"] if "avx2" in K.paths()[1:] else []):
            rt = runtime.load(path, threads=args.threads, kernel=p)
            fns[f"native_{p}{suffix}"] = lambda rt=rt: rt(xn)
    report = {"command": "python benchmarks/deploy_back_to_back.py " + " ".join(sys.argv[1:] if argv is None
                                                                              else argv),
              "arch": args.arch, "input_size": list(size), "batch": 1, "threads": args.threads,
              "precision": args.precision,
              "timing": f"{args.reps} runs in a row per engine after {args.warmup} warm-up runs, "
                        f"{args.rounds} passes over the engines",
              "onnxruntime": ort.__version__ if ort is not None else bench.ORT_MISSING,
              "machine": machine_info(), "load_average_start": bench._load_average(), "passes": []}
    print(f"{args.arch} {list(size)}, batch 1, {args.threads} thread(s), load {report['load_average_start']}")
    for rnd in range(args.rounds):
        row = {}
        for name, fn in fns.items():
            bench._settle()
            t = bench._timed(fn, args.warmup, args.reps, budget=60.0)
            row[name] = {"median_ms": statistics.median(t) * 1e3, "min_ms": min(t) * 1e3, "n": len(t)}
            print(f"pass {rnd}: {name:18s} median {row[name]['median_ms']:8.2f} ms  "
                  f"min {row[name]['min_ms']:8.2f} ms")
        report["passes"].append(row)
    report["load_average_end"] = bench._load_average()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
