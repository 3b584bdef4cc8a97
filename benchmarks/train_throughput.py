"""Training-step throughput: fp32 ResNet-20 vs its DIR-Net binary version, side by side.

    .venv/bin/python benchmarks/train_throughput.py [--batch 128] [--reps 20] [--profile]

Both models are timed in the same process, alternating one rep each, so a
noisy shared machine affects both alike; the reported figure is the ratio of
median step times (binary / fp). Writes benchmarks/results/train_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info

import dirnet


def make_step(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step():
        dirnet.set_progress(model, 0.5, epochs=30)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--method", default="dirnet")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--profile", action="store_true", help="print a torch.profiler table of the binary step")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_throughput.json"))
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fp = dirnet.models.create("resnet20", num_classes=10)
    bn = dirnet.binarize(fp, a.method)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    steps = {"fp32": make_step(fp.train(), x, y), a.method: make_step(bn.train(), x, y)}
    for s in steps.values():  # warm-up
        for _ in range(3):
            s()
    times = {k: [] for k in steps}
    for _ in range(a.reps):
        for k, s in steps.items():
            t = time.perf_counter()
            s()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "command": "python benchmarks/train_throughput.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "batch": a.batch, "reps": a.reps, "method": a.method,
        "median_step_s": med,
        "images_per_s": {k: a.batch / v for k, v in med.items()},
        "ratio_binary_over_fp": med[a.method] / med["fp32"],
    }
    print(json.dumps(result, indent=2))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    if a.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                steps[a.method]()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
