"""Choose DTE's variant and RBD's weights on a held-out split, never on the test set.

    python benchmarks/tune.py dte   # DTE switches: distribution on/off, per-iteration/epoch, T_min
    python benchmarks/tune.py rbd   # RBD alpha/beta/tau (needs the short fp teacher, trained first)
    python benchmarks/tune.py table # rebuild the JSON and the BENCHMARKS.md section

Short runs: ResNet-20 on a 10,000-image part of CIFAR-10's training set, scored
on a disjoint 5,000-image held-out part of the training set (data.val_size),
8 epochs, otherwise the CPU-budget recipe. Each variant is a `dirnet train`
command; finished variants are skipped, interrupted ones resumed. The score is
the final epoch's held-out top-1; the test split is never read for the choice
(the runs still log test accuracy per epoch, which the table does not show).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from mdblock import replace_block  # noqa: E402
COMMON = ["model.arch=resnet20", "data.name=cifar10", "data.root=data/cifar10",
          "data.val_size=5000", "data.train_subset=10000", "schedule.epochs=8",
          "optim.lr=0.1", "log.progress=false", "log.tensorboard=false", "threads=1",
          "out_dir=runs/tune"]
GRIDS = {
    "dte": {
        "dte-dist-iter-1e-3": ["method=dirnet"],
        "dte-nodist-iter-1e-3": ["method=dirnet", "recipe.distribution=false"],
        "dte-dist-epoch-1e-3": ["method=dirnet", "recipe.granularity=epoch"],
        "dte-dist-iter-1e-1": ["method=dirnet", "recipe.t_min=0.1"],
        "ede-irnet": ["method=irnet"],
    },
    "rbd": {
        "teacher-fp": ["method=fp"],
        "rbd-a1-b1-t4": ["method=dirnet", "distill.alpha=1", "distill.beta=1", "distill.tau=4"],
        "rbd-a1-b0-t4": ["method=dirnet", "distill.alpha=1", "distill.beta=0", "distill.tau=4"],
        "rbd-a0-b1": ["method=dirnet", "distill.alpha=0", "distill.beta=1"],
        "rbd-a1-b1-t1": ["method=dirnet", "distill.alpha=1", "distill.beta=1", "distill.tau=1"],
    },
}
MARK_START, MARK_END = "<!-- tune:start -->", "<!-- tune:end -->"


def command(grid: str, name: str) -> list[str]:
    cmd = ["dirnet", "train", *COMMON, f"name={name}", *GRIDS[grid][name]]
    if grid == "rbd" and name != "teacher-fp":
        cmd.append("distill.teacher=runs/tune/teacher-fp")
    return cmd


def run(grid: str) -> None:
    exe = str(Path(sys.executable).parent / "dirnet")
    for name in GRIDS[grid]:
        run_dir = ROOT / "runs/tune" / name
        summary = run_dir / "summary.json"
        if summary.exists() and json.loads(summary.read_text())["epochs_done"] >= 8:
            print(f"[{name}] finished already", flush=True)
            continue
        cmd = command(grid, name) + (["--resume"] if (run_dir / "checkpoints/last.pt").exists() else [])
        print(f"[{name}] {shlex.join(cmd)}", flush=True)
        subprocess.run([exe, *cmd[1:]], cwd=ROOT, check=True)
        table()


def table() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from dirnet.train.metrics import read_metrics

    out = {"protocol": __doc__.split("\n\n")[2].replace("\n", " "), "grids": {}}
    lines = [MARK_START, "", "Held-out choice of settings (train subset 10,000, held-out 5,000 "
             "images of the CIFAR-10 training set, 8 epochs; score = final held-out top-1; "
             "the test split plays no part). Rebuild: `python benchmarks/tune.py table`.", ""]
    for grid, variants in GRIDS.items():
        rows = []
        for name in variants:
            hist = read_metrics(ROOT / "runs/tune" / name)
            if not hist:
                continue
            rows.append({"name": name, "val_top1": hist[-1].get("val_top1"),
                         "epochs_done": len(hist), "command": shlex.join(command(grid, name))})
        out["grids"][grid] = rows
        if rows:
            lines += [f"**{grid}**", "", "| variant | held-out top-1 % | epochs | command |",
                      "|---|---|---|---|"]
            lines += [f"| {r['name']} | {r['val_top1']:.2f} | {r['epochs_done']}/8 | "
                      f"`{r['command']}` |" for r in rows]
            lines.append("")
    lines.append(MARK_END)
    (ROOT / "benchmarks/results/tune.json").write_text(json.dumps(out, indent=2) + "\n")
    replace_block(ROOT / "BENCHMARKS.md", "\n".join(lines), MARK_START, MARK_END,
                  "Settings chosen on held-out data")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=[*GRIDS, "table"])
    a = ap.parse_args(argv)
    if a.what == "table":
        table()
    else:
        run(a.what)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
