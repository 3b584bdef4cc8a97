"""Does re-estimating BatchNorm statistics after the last epoch help? Held-out data only.

    python benchmarks/studies/bn_reestimate.py runs/tune/f-none runs/tune/f-a0-b1 ...

For each run: ``dirnet reestimate-bn`` (skipped when RUN/checkpoints/bn.pt
exists), then held-out (``--split val``) top-1 of the final checkpoint and of
the re-estimated one. Adds the rows to benchmarks/results/bn_reestimate.json
(a run measured again replaces its row); the rule that reads it is in
BENCHMARKS.md ("BatchNorm re-estimation").
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/studies/ -> the repository
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import machine_info  # noqa: E402

OUT = ROOT / "benchmarks/results/bn_reestimate.json"


def measure(run: Path) -> dict:
    from dirnet.evaluate import evaluate_target
    from dirnet.train.bn_reestimate import reestimate_run

    t0 = time.perf_counter()
    if not (run / "checkpoints" / "bn.pt").exists():
        reestimate_run(run, progress=False)
    before = evaluate_target(str(run), split="val", which="last")
    after = evaluate_target(str(run), split="val", which="bn")
    return {"run": str(run.relative_to(ROOT)), "val_top1_last": before["top1"],
            "val_top1_bn": after["top1"], "gain": after["top1"] - before["top1"],
            "val_loss_last": before["loss"], "val_loss_bn": after["loss"],
            "seconds": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    a = p.parse_args()
    old = json.loads(OUT.read_text()) if OUT.exists() else {"commands": [], "rows": []}
    rows = []
    for run in a.runs:
        run = run.resolve()
        row = measure(run)
        rows.append(row)
        print(f"{row['run']}: held-out {row['val_top1_last']:.2f} -> {row['val_top1_bn']:.2f} "
              f"({row['gain']:+.2f})", flush=True)
    new = {r["run"] for r in rows}
    cmd = "python benchmarks/studies/bn_reestimate.py " + " ".join(str(r) for r in a.runs)
    out = {"commands": old["commands"] + [cmd], "machine": machine_info(),
           "rows": [r for r in old["rows"] if r["run"] not in new] + rows}
    OUT.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
