"""``dirnet demo``: the main job on the embedded data, end to end in a few minutes.

Trains a full-precision ResNet-20 and its DIR-Net binary version (IMB + DTE,
with RBD distillation from the FP model) on the Fashion-MNIST subset shipped
inside the package, then prints model / top-1 / size, writes a PNG of the
training curves and, when the native runtime is built, exports the binary
model to a .dbnn file and measures its latency against PyTorch.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def _config(method: str, epochs: int, out: Path, teacher: Path | None,
            train_subset: int | None = None):
    from dirnet.config import load_config

    base = {
        "name": method,
        "out_dir": str(out),
        "model": {"arch": "resnet20"},
        "method": method,
        "data": {"name": "fashion_mnist_demo", "batch_size": 128, "train_subset": train_subset},
        "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4},
        "schedule": {"name": "cosine", "epochs": epochs},
        "log": {"tensorboard": False},
    }
    if teacher is not None:
        base["distill"] = {"teacher": str(teacher)}
    return load_config(base=base)


def _size_bytes(model, input_size) -> int:
    from dirnet.analysis.summary import summary

    return int(summary(model, input_size).totals["memory_bytes"])


def _plot(runs: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, rows in runs.items():
        ep = [r["epoch"] + 1 for r in rows]
        ce = [r.get("train_ce", r["train_loss"]) for r in rows]  # CE only, also under RBD
        a1.plot(ep, ce, marker="o", label=f"{label} train")
        a1.plot(ep, [r["test_loss"] for r in rows], marker="x", ls="--", label=f"{label} test")
        a2.plot(ep, [r["test_top1"] for r in rows], marker="o", label=label)
    a1.set(xlabel="epoch", ylabel="cross-entropy", title="cross-entropy loss")
    a2.set(xlabel="epoch", ylabel="test top-1 (%)", title="Fashion-MNIST subset, ResNet-20")
    for a in (a1, a2):
        a.xaxis.get_major_locator().set_params(integer=True)
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _deploy(model, cfg, out: Path, input_size) -> dict[str, Any] | None:
    """Export and time the binary model natively; None when the runtime is not built.

    The file records the run's data set (as ``dirnet export`` does), so
    ``dirnet eval OUT/dirnet.dbnn`` needs no ``--data``.
    """
    try:
        import dirnet.deploy as deploy
        from dirnet.deploy.cli import data_entry
    except ImportError:
        return None
    import torch

    path = out / "dirnet.dbnn"
    deploy.export(model, path, input_size=input_size[1:], extra={"data": data_entry(cfg)})
    runtime = deploy.load(path)
    x = torch.randn(*input_size)
    model.eval()

    def median_ms(fn, reps=50):
        for _ in range(5):
            fn()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return 1000 * sorted(times)[len(times) // 2]

    with torch.no_grad():
        torch_ms = median_ms(lambda: model(x))
    native_ms = median_ms(lambda: runtime(x))
    return {"path": str(path), "file_bytes": path.stat().st_size, "native_ms": native_ms,
            "torch_ms": torch_ms}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dirnet demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", help="run directory (default ./runs/demo-<time>)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per model (default 3)")
    p.add_argument("--no-export", action="store_true", help="skip the native export and timing")
    p.add_argument("--train-subset", type=int, default=None,
                   help="train on the first N images only (a quick check; default: all 10,000)")
    a = p.parse_args(argv)
    if a.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    out = Path(a.out) if a.out else Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S")
    if (out / "fp").exists() or (out / "dirnet").exists():
        raise FileExistsError(f"{str(out)!r} already holds a demo; choose another --out")
    out.mkdir(parents=True, exist_ok=True)

    from dirnet.checkpoint import load_model
    from dirnet.metrics import read_metrics
    from dirnet.train import train

    t0 = time.perf_counter()
    print(f"[1/2] full-precision ResNet-20, {a.epochs} epochs on the embedded Fashion-MNIST subset")
    fp = train(_config("fp", a.epochs, out, None, a.train_subset))
    print(f"[2/2] DIR-Net binary ResNet-20 (IMB + DTE + RBD from the FP model), {a.epochs} epochs")
    bn = train(_config("dirnet", a.epochs, out, out / "fp", a.train_subset))
    input_size = (1, 1, 28, 28)
    fp_model, _ = load_model(out / "fp")
    bn_model, bn_cfg = load_model(out / "dirnet")
    rows = [("resnet20 fp", fp["test_top1"], _size_bytes(fp_model, input_size)),
            ("resnet20 dirnet (1-bit)", bn["test_top1"], _size_bytes(bn_model, input_size))]
    curves = _plot({"fp": read_metrics(out / "fp"), "dirnet": read_metrics(out / "dirnet")},
                   out / "training_curves.png")
    deployed = None if a.no_export else _deploy(bn_model, bn_cfg, out, input_size)

    print()
    print(f"{'model':28s} {'top-1':>8s} {'size':>12s}")
    for name, top1, size in rows:
        print(f"{name:28s} {top1:7.2f}% {size / 1024:9.1f} KiB")
    print(f"(test split of the embedded set, 2,000 images; size = parameters at their "
          f"storage precision; ratio {rows[0][2] / rows[1][2]:.1f}x)")
    if deployed:
        print(f"\nexported {deployed['path']}: {deployed['file_bytes'] / 1024:.1f} KiB on disk; "
              f"batch-1 latency {deployed['native_ms']:.3f} ms native vs "
              f"{deployed['torch_ms']:.3f} ms PyTorch fp32 "
              f"({deployed['torch_ms'] / deployed['native_ms']:.1f}x)")
    result = {"rows": [{"model": n, "top1": t, "size_bytes": s} for n, t, s in rows],
              "deployed": deployed, "seconds": time.perf_counter() - t0}
    (out / "demo.json").write_text(json.dumps(result, indent=2))
    print(f"\nrun directory: {out}\ntraining curves: {curves}\n"
          f"total time {result['seconds']:.0f} s")
    return 0
