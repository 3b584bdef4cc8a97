"""The int8 layers of ResNet-18 (224x224, batch 1) on every qconv2d variant this CPU runs.

    python benchmarks/int8_variants.py [--threads 1] [--rounds 15] [--out benchmarks/results/int8_variants.json]

Exports a binarized ResNet-18 with random weights as int8 (calibrated on
random normal inputs) and as fp16, loads the int8 file once per variant
(``DIRNET_QCONV_VARIANT``: avx512_vnni, avx512 (vpmaddwd), avx2_vnni, avx2
(vpmaddwd)) and the fp16 file on the avx512 and avx2 paths, checks that every
int8 variant gives the same logits, and times every op per round (Plan
profile, round robin); reports the minimum per op over the rounds for the
int8 layers (stem, 1x1 downsamples, classifier) and the sum over all ops.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", default="benchmarks/results/int8_variants.json")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tempfile

    from dirnet._kernels import paths
    from machine import machine_info

    import dirnet
    from dirnet.deploy import export, load
    from dirnet.models import create

    tmp = tempfile.TemporaryDirectory()
    torch.manual_seed(0)
    m = dirnet.binarize(create("resnet18", num_classes=1000), "dirnet").eval()
    g = torch.Generator().manual_seed(1)
    p8, p16 = Path(tmp.name) / "r18_int8.dbnn", Path(tmp.name) / "r18_fp16.dbnn"
    export(m, p8, precision="int8", calibration=[torch.randn(2, 3, 224, 224, generator=g)], input_size=(3, 224, 224),
           quantize_stem=True)  # random weights: the stem check has nothing to judge
    export(m, p16, precision="fp16", input_size=(3, 224, 224))
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    have = paths()
    rts = {}
    for variant, path in [("avx512_vnni", "avx512"), ("avx512", "avx512"), ("avx2_vnni", "avx2"), ("avx2", "avx2")]:
        if path not in have:
            continue
        os.environ["DIRNET_QCONV_VARIANT"] = variant
        rts[f"int8 {variant}"] = load(p8, kernel=path, threads=a.threads)
    os.environ.pop("DIRNET_QCONV_VARIANT", None)
    for path in ("avx512", "avx2"):
        if path in have:
            rts[f"fp16 {path}"] = load(p16, kernel=path, threads=a.threads)
    ref = None
    for k, rt in rts.items():
        if k.startswith("int8"):
            out = np.asarray(rt(x))
            ref = out if ref is None else ref
            if out.tobytes() != ref.tobytes():
                raise SystemExit(f"{k}: logits differ from the other int8 variants")
    times: dict[str, list[dict[str, float]]] = {k: [] for k in rts}
    for r in range(a.rounds):
        keys = list(rts)
        keys = keys[r % len(keys):] + keys[:r % len(keys)]
        for k in keys:
            times[k].append(dict(rts[k].profile(x, 1)))
    ops = list(times[next(iter(rts))][0])
    int8_ops = [n for n in ops if n.startswith("conv1") or "shortcut" in n or n == "fc"]
    res = {"command": "python benchmarks/int8_variants.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": machine_info(), "threads": a.threads, "rounds": a.rounds,
           "load_average": list(os.getloadavg()), "per_op_min_ms": {}, "sum_of_min_ms": {}}
    for k in rts:
        res["per_op_min_ms"][k] = {n: min(t[n] for t in times[k]) * 1e3 for n in int8_ops}
        res["sum_of_min_ms"][k] = sum(min(t[n] for t in times[k]) for n in ops) * 1e3
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    for n in int8_ops:
        print(f"{n[:42]:42s}", "  ".join(f"{k} {res['per_op_min_ms'][k][n]:.3f}" for k in rts))
    print("sum of per-op minimums (ms):", {k: round(v, 3) for k, v in res["sum_of_min_ms"].items()})
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
