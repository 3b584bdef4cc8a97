"""The DIR-Net ablation at the CPU budget: every row with identical settings and seed.

    python benchmarks/studies/accuracy.py run   [--rows fp,dirnet,...] [overrides...]   # train what is missing
    python benchmarks/studies/accuracy.py table                                        # rebuild JSON/MD/PNG
    python benchmarks/studies/accuracy.py dirs  [--rows ...] [overrides...]            # each row's run dir

Each row is ``dirnet train --config configs/cifar10/resnet20_<row>_c30.yaml``
(resumed when its run directory holds a checkpoint, skipped when finished),
run one at a time (two runs at once on 2 cores are slower than one after the
other). ``table`` rebuilds benchmarks/results/ablation_c30.json, the table in
BENCHMARKS.md and a PNG of test-accuracy curves from whatever has finished or
progressed, so the study can run across sessions. The ``dirnet`` row uses the
``fp`` row's final model as its RBD teacher, so ``fp`` runs first.

A second seed (``run --rows dirnet,imb+dte seed=1``) trains into
``runs/resnet20_<row>_c30_s1``, beside the seed-0 rows; the teacher stays the
seed-0 ``fp`` model. ``table`` lists every finished seed of a row and their mean
(the issue's rule: rows of the chain within 0.5 points are compared on means).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/studies/ -> the repository
sys.path.insert(0, str(ROOT / "benchmarks"))
from mdblock import replace_block  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks" / "studies"))
from rowstudy import MAX_SEED, RowStudy, rel, seed_of, standard_extra  # noqa: E402,F401

ROWS = ["fp", "bnn", "xnor", "bireal", "irnet", "reactnet", "imb", "imb+dte", "dirnet"]
MARK_START, MARK_END = "<!-- ablation:start -->", "<!-- ablation:end -->"


def row_config(row: str) -> Path:
    return ROOT / "configs" / "cifar10" / f"resnet20_{row}_c30.yaml"


STUDY = RowStudy(row_config, metric="test_top1")
row_overrides, run_dir_of, row_command = STUDY.row_overrides, STUDY.run_dir_of, STUDY.row_command
finished, finished_seeds, run_rows = STUDY.finished, STUDY.finished_seeds, STUDY.run_rows


def read_rows(rows: list[str], extra: list[str]) -> list[dict]:
    out = []
    for row in rows:
        facts = STUDY.run_facts(row, extra)
        run_dir, cfg, hist = facts["run_dir"], facts["cfg"], facts["history"]
        if not hist:
            continue
        tops = [h["test_top1"] for h in hist if "test_top1" in h]
        out.append({
            "name": row,
            "top1": tops[-1] if tops else None,
            "best_top1": max(tops) if tops else None,
            "epochs_done": len(hist),
            "finished": len(hist) >= cfg.schedule.epochs,
            "epoch_s": sum(h["epoch_s"] for h in hist) / len(hist),
            "command": facts["command"],
            "device": facts["device"],
            "run_dir": rel(run_dir),
            "curve": tops,
        })
        seeds = finished_seeds(row, extra)
        if len(seeds) > 1:
            out[-1]["seed_top1"] = seeds
            out[-1]["mean_top1"] = round(sum(seeds.values()) / len(seeds), 3)
    return out


def write_table(rows: list[dict], results: Path, md: Path, png: Path, epochs: int,
                dataset: str) -> None:
    payload = {"dataset": dataset, "arch": "resnet20", "epochs": epochs,
               "rows": [{k: v for k, v in r.items() if k != "curve"} for r in rows]}
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(payload, indent=2) + "\n")
    lines = [MARK_START, "",
             f"ResNet-20, {dataset}, {epochs} epochs, batch 128, SGD 0.1/0.9/1e-4, cosine, seed 0. "
             "top-1 = final epoch's test accuracy (the figure we report); best = max over "
             "epochs (for information only, chosen on the test set). The device column says "
             "where each row trained: the same configs on CPU or GPU (rows on a GPU ran "
             "side by side, sharing it through MPS, so s/epoch there is no speed "
             "measure).", "",
             "| row | top-1 % | best % | epochs | s/epoch | device | command | seeds: top-1 (mean) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        done = f"{r['epochs_done']}" + ("" if r["finished"] else f"/{epochs} (running)")
        seeds = ""
        if "seed_top1" in r:
            seeds = ", ".join(f"s{k} {v:.2f}" for k, v in r["seed_top1"].items()) + \
                f" (**{r['mean_top1']:.2f}**)"
        lines.append(f"| {r['name']} | {r['top1']:.2f} | {r['best_top1']:.2f} | {done} | "
                     f"{r['epoch_s']:.0f} | {r['device']} | `{r['command']}` | {seeds} |")
    lines += ["", f"Curves: `{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}`. "
              f"Rebuild: `python benchmarks/studies/accuracy.py table`.", "", MARK_END]
    replace_block(md, "\n".join(lines), MARK_START, MARK_END, "Ablation (CPU budget)")
    if rows:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax, ax_seeds) = plt.subplots(1, 2, figsize=(12, 5), width_ratios=(3, 2))
        for r in rows:
            ax.plot(range(1, len(r["curve"]) + 1), r["curve"], label=r["name"],
                    lw=2.2 if r["name"] in ("dirnet", "fp") else 1.2)
        ax.set(xlabel="epoch", ylabel="test top-1 (%)", title=f"ResNet-20, {dataset}: seed 0")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=3)
        plot_seeds(ax_seeds, rows)
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        plt.close(fig)


def plot_seeds(ax, rows: list[dict]) -> None:
    """Final top-1 of every finished seed as dots, the mean as a bar: single runs
    at this budget differ by up to two points, and the plot should show it."""
    for y, r in enumerate(rows):
        tops = list(r.get("seed_top1", {}).values()) or ([r["top1"]] if r["finished"] else [])
        if not tops:
            continue
        mean = r.get("mean_top1", tops[0])  # read_rows' mean where there are seeds
        ax.scatter(tops, [y] * len(tops), s=18, alpha=0.7, color="C0", zorder=3)
        ax.plot([mean, mean], [y - 0.3, y + 0.3], color="C3", lw=2)
        ax.annotate(f"{mean:.2f}" + (f" (n={len(tops)})" if len(tops) > 1 else ""),
                    (mean, y), xytext=(6, 4), textcoords="offset points", fontsize=7)
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows])
    ax.invert_yaxis()
    ax.set(xlabel="final test top-1 (%)", title="every seed (dots) and their mean (bar)")
    ax.grid(alpha=0.3, axis="x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["run", "table", "dirs"])
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ",".join(ROWS))
    ap.add_argument("--results", default=str(ROOT / "benchmarks/results/ablation_c30.json"))
    ap.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--png", default=str(ROOT / "benchmarks/results/ablation_c30.png"))
    ap.add_argument("--dataset", default="cifar10-jpeg-q75")
    ap.add_argument("--jobs", type=int, default=1,
                    help="rows trained at once (2 with threads=1 each uses both cores best)")
    ap.add_argument("overrides", nargs="*", metavar="key=value",
                    help="applied to every row (e.g. out_dir=/tmp/abl data.train_subset=256)")
    a = ap.parse_intermixed_args(argv)
    rows = [r for r in a.rows.split(",") if r]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        ap.error(f"unknown rows {unknown}; choose from {ROWS}")
    extra = list(a.overrides)
    if a.action == "run":
        table_args = ["table", "--rows", ",".join(ROWS), "--results", a.results,
                      "--markdown", a.markdown, "--png", a.png, "--dataset", a.dataset,
                      *standard_extra(extra)]
        run_rows(rows, extra, a.jobs, lambda: main(table_args))
        return 0
    if a.action == "dirs":  # for scripts that pack runs (benchmarks/studies/gpu_ablation.sh)
        for r in rows:
            d = run_dir_of(r, extra)[0]
            print(d.relative_to(ROOT) if d.is_relative_to(ROOT) else d)
        return 0
    _, cfg = run_dir_of(ROWS[0], extra)
    write_table(read_rows(rows, extra), Path(a.results), Path(a.markdown), Path(a.png),
                cfg.schedule.epochs, a.dataset)
    print(Path(a.results).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
