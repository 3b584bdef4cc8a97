"""Binary object detection on BCCD: SSD with a ResNet-20 backbone, one row per method.

    python benchmarks/studies/detection.py run   [--rows fp,bnn,...] [--jobs N] [overrides...]   # train what is missing
    python benchmarks/studies/detection.py table [--no-pictures]                               # rebuild JSON/MD/PNGs
    python benchmarks/studies/detection.py dirs  [--rows ...] [overrides...]                   # each row's run dir

Each row is ``dirnet train --config configs/bccd/ssd_resnet20_<row>.yaml``
(resumed when its run directory holds a checkpoint, skipped when finished);
``--jobs 2`` with ``threads=1`` trains two rows at once on the 2-core dev box.
The ``dirnet`` row distils from the ``fp`` row's final model (RBD), so ``fp``
runs first. ``seed=N`` trains into ``runs/ssd_resnet20_<row>_bccd_s<N>``
beside the seed-0 rows (the teacher stays the seed-0 fp model), as in
accuracy.py.

``table`` rebuilds benchmarks/results/detection_bccd.json and the
``detection`` block of BENCHMARKS.md from whatever ``metrics.jsonl`` files
exist (the final epoch's test mAP; unfinished and missing rows are listed as
such), with a verdict on the paper's ordering (fp > dirnet > irnet > bnn and
dirnet > imb+dte) computed from the finished rows. Unless ``--no-pictures``,
it also evaluates each finished row's ``checkpoints/last.pt`` on the test
split (``dirnet.evaluate.evaluate_detector``) and draws
benchmarks/results/detection_bccd_grid.png (ground truth beside prediction
on a few test images, per row) and detection_bccd_pr.png (per-class
precision-recall curves at IoU 0.5).
"""
from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/studies/ -> the repository
sys.path.insert(0, str(ROOT / "benchmarks"))
from mdblock import replace_block  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks" / "studies"))
from rowstudy import MAX_SEED, RowStudy, seed_of, standard_extra  # noqa: E402,F401
from rowstudy import load_config as _load_config  # noqa: E402
from rowstudy import rel as _rel  # noqa: E402

ROWS = ["fp", "bnn", "irnet", "imb+dte", "dirnet"]
MARK_START, MARK_END = "<!-- detection:start -->", "<!-- detection:end -->"
HEADING = "Binary object detection (BCCD)"
#: the paper's ordering, as (better, worse) pairs; the first three chain fp > dirnet > irnet > bnn
CLAIMS = [("fp", "dirnet"), ("dirnet", "irnet"), ("irnet", "bnn"), ("dirnet", "imb+dte")]
SHOW_SCORE = 0.3  # the grid draws predictions above this score (dirnet detect's default)


def row_config(row: str) -> Path:
    return ROOT / "configs" / "bccd" / f"ssd_resnet20_{row}.yaml"


STUDY = RowStudy(row_config, metric="test_map50")
row_overrides, run_dir_of, row_command = STUDY.row_overrides, STUDY.run_dir_of, STUDY.row_command
finished, finished_seeds, run_rows = STUDY.finished, STUDY.finished_seeds, STUDY.run_rows


def read_rows(rows: list[str], extra: list[str]) -> list[dict]:
    """One entry per requested row, missing and unfinished ones included (``status``)."""
    out = []
    for row in rows:
        facts = STUDY.run_facts(row, extra)
        run_dir, cfg = facts["run_dir"], facts["cfg"]
        hist = [h for h in facts["history"] if "test_map50" in h]
        done = len(hist) >= cfg.schedule.epochs
        seeds = finished_seeds(row, extra)
        last = hist[-1] if hist else {}
        out.append({
            "name": row,
            "map50": last.get("test_map50"),
            "map": last.get("test_map"),
            "map50_voc07": last.get("test_map50_voc07"),
            "seeds": seeds,
            "mean_map50": round(sum(seeds.values()) / len(seeds), 3) if seeds else None,
            "command": facts["command"],
            "device": facts["device"],
            "finished": done,
            "status": "finished" if done else ("unfinished" if hist else "missing"),
            "epochs_done": len(hist),
            "epochs": cfg.schedule.epochs,
            "epoch_s": round(sum(h.get("epoch_s", 0.0) for h in hist) / len(hist), 1) if hist else None,
            "run_dir": _rel(run_dir),
            "curve": [h["test_map50"] for h in hist],
        })
    return out


def verdict(rows: list[dict], test_images: int | None = None) -> tuple[list[dict], str]:
    """Each claimed pair (better > worse) on the mean final mAP@0.5 of the finished seeds:
    ``holds``, ``fails`` or ``open`` (a row unfinished or missing), and a one-line summary."""
    figure = {r["name"]: r["mean_map50"] for r in rows}
    seeds = {r["name"]: len(r["seeds"]) for r in rows}
    parts, texts = [], []
    for hi, lo in CLAIMS:
        a, b = figure.get(hi), figure.get(lo)
        if a is None or b is None:
            waiting = [n for n, v in ((hi, a), (lo, b)) if v is None]
            parts.append({"claim": f"{hi} > {lo}", "status": "open", "waiting_for": waiting})
            texts.append(f"{hi} > {lo}: open ({' and '.join(waiting)} not finished)")
            continue
        status = "holds" if a > b else "fails"
        parts.append({"claim": f"{hi} > {lo}", "status": status, hi: a, lo: b,
                      "margin": round(a - b, 3)})
        texts.append(f"{hi} > {lo} {'holds' if a > b else 'does not hold'} ({a:.2f} vs {b:.2f})")
    chain = parts[:3]
    if any(p["status"] == "open" for p in chain):
        whole = "the ordering fp > dirnet > irnet > bnn is not decided yet"
    elif all(p["status"] == "holds" for p in chain):
        whole = "the ordering fp > dirnet > irnet > bnn holds"
    else:
        whole = "the ordering fp > dirnet > irnet > bnn does not hold as a whole"
    single = [n for n, k in seeds.items() if k == 1]
    on = f" on {test_images} test images" if test_images else ""
    note = (f" Single seed for {', '.join(single)}: differences of a point or two{on} may be "
            "run-to-run noise (not measured here)." if single else "")
    line = "Verdict (mAP@0.5): " + "; ".join(texts) + f"; {whole}." + note
    return parts, line


def split_size(cfg, split: str) -> int | None:
    """Images in a split of the row's data folder (after data.<split>_subset); None if absent."""
    path = Path(cfg.data.root or "") / "ImageSets" / "Main" / f"{split}.txt"
    path = path if path.is_absolute() else ROOT / path
    if not path.is_file():
        return None
    n = sum(1 for line in path.read_text().splitlines() if line.strip())
    subset = {"train": cfg.data.train_subset, "test": cfg.data.test_subset}.get(split)
    return min(n, subset) if subset else n


def _lr(v: float) -> str:
    mant, _, exp = f"{v:.0e}".partition("e")
    return f"{mant}e{int(exp)}" if float(f"{v:.0e}") == v and v < 0.01 else f"{v:g}"


def _budget(cfg, threads: int | None) -> str:
    n_train = split_size(cfg, "train")
    images = f"{n_train} train images" if n_train else "the train split"
    s = cfg.model.input_size
    opt = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}.get(cfg.optim.name, cfg.optim.name)
    thr = (f"one CPU thread per run (threads={threads}), two runs side by side on the 2-core "
           "dev box" if threads == 1 else f"threads={threads}")
    return (f"{cfg.schedule.epochs} epochs of {images} at {s}x{s}, batch {cfg.data.batch_size}, "
            f"{opt} {_lr(cfg.optim.lr)} {cfg.schedule.name} ({cfg.schedule.warmup_epochs} warm-up "
            f"epoch{'s' if cfg.schedule.warmup_epochs != 1 else ''}), seed {cfg.seed}, {thr}")


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def write_table(rows: list[dict], results: Path, md: Path, dataset: str, extra: list[str],
                pictures: dict[str, str] | None = None) -> dict:
    _, cfg = run_dir_of(ROWS[0], extra)
    fp_dir = ROOT / cfg.out_dir / cfg.run_name
    threads = cfg.threads
    if (fp_dir / "config.yaml").exists():  # the threads the run itself was given
        threads = _load_config(fp_dir / "config.yaml").threads
    budget = _budget(cfg, threads)
    n_test = split_size(cfg, "test")
    claims, line = verdict(rows, n_test)
    payload = {"dataset": dataset, "backbone": f"{cfg.model.arch} (Bi-Real ResNet-20 stages)",
               "input_size": cfg.model.input_size, "epochs": cfg.schedule.epochs,
               "budget": budget,
               "rows": [{k: v for k, v in r.items() if k != "curve"} for r in rows],
               "verdict": {"claims": claims, "line": line}}
    if pictures:
        payload["pictures"] = pictures
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(payload, indent=2) + "\n")
    unfinished = [f"{r['name']} ({r['status']}, {r['epochs_done']}/{r['epochs']} epochs)"
                  for r in rows if not r["finished"]]
    lines = [MARK_START, "",
             f"SSD on `{cfg.model.arch}` (ResNet-20 stages behind a stride-4 stem, 4 Bi-Real "
             f"extra blocks, prediction convs full precision), {dataset}: {budget}. Every row "
             "has the same settings but the method (and the dirnet row's RBD teacher, the fp "
             "row). mAP@0.5 = VOC area AP at IoU 0.5 and mAP@[.5:.95] = COCO's AP, both on the "
             f"final epoch's test split{f' ({n_test} images)' if n_test else ''} in percent; "
             "nothing is selected on the test set.", "",
             "The paper's target ordering: **fp > dirnet > irnet > bnn**, and **dirnet > "
             "imb+dte** (RBD helps).", ""]
    if unfinished:
        lines += [f"**Not final**: unfinished or missing rows: {', '.join(unfinished)}. Their "
                  "figures are the last epoch logged so far, not results.", ""]
    lines += ["| row | mAP@0.5 | mAP@[.5:.95] | epochs | s/epoch | device | command | "
              "seeds: mAP@0.5 (mean) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "missing":
            lines.append(f"| {r['name']} | not run | | 0/{r['epochs']} | | | "
                         f"`{r['command']}` | |")
            continue
        done = str(r["epochs_done"]) + ("" if r["finished"] else f"/{r['epochs']} (unfinished)")
        seeds = ""
        if len(r["seeds"]) > 1:
            seeds = ", ".join(f"s{k} {v:.2f}" for k, v in r["seeds"].items()) + \
                f" (**{r['mean_map50']:.2f}**)"
        lines.append(f"| {r['name']} | {_fmt(r['map50'])} | {_fmt(r['map'])} | {done} | "
                     f"{r['epoch_s']:.0f} | {r['device']} | `{r['command']}` | {seeds} |")
    lines += ["", line, ""]
    if pictures:
        lines += ["Pictures: " + ", ".join(f"`{v}` ({k})" for k, v in pictures.items()) + ".", ""]
    lines += ["Rebuild: `python benchmarks/studies/detection.py table` (`--no-pictures` skips "
              "evaluating the checkpoints for the pictures).", "", MARK_END]
    replace_block(md, "\n".join(lines), MARK_START, MARK_END, HEADING)
    return payload


# --- pictures ------------------------------------------------------------------------------

def evaluate_rows(rows: list[dict]) -> dict[str, object]:
    """The test-split evaluation (``dirnet.evaluate.evaluate_detector``) of every finished row
    whose run directory still holds checkpoints/last.pt."""
    from dirnet.checkpoint import config_of, load, model_from
    from dirnet.evaluate import evaluate_detector

    out = {}
    for r in rows:
        ck_path = ROOT / r["run_dir"] / "checkpoints" / "last.pt"
        if not r["finished"]:
            continue
        if not ck_path.is_file():
            print(f"[{r['name']}] no checkpoints/last.pt: left out of the pictures", flush=True)
            continue
        ck = load(ck_path)
        res = evaluate_detector(model_from(ck), config_of(ck), ck.get("class_names") or None)
        got = res.figures["map50"]
        if r["map50"] is not None and abs(got - r["map50"]) > 0.01:
            print(f"[{r['name']}] warning: its checkpoint scores mAP@0.5 {got:.2f}, its "
                  f"metrics.jsonl {r['map50']:.2f}", flush=True)
        out[r["name"]] = res
    return out


def draw_grid(evals: dict[str, object], png: Path, images: int = 3) -> None:
    """Per row, ``images`` test images: ground truth beside the prediction (score > 0.3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from dirnet.detection.draw import draw_boxes

    first = next(iter(evals.values()))
    n = len(first.dataset)
    picks = sorted({int(round(i)) for i in np.linspace(0, n - 1, min(images, n))})
    names = list(first.evaluator.class_names)
    cell = 320

    def view(ds, i, boxes, labels, scores=None):
        ann = ds.annotations[i]
        with ds.open_image(i) as im:
            im = im.convert("RGB")
        k = cell / im.size[0]
        small = im.resize((cell, max(1, round(im.size[1] * k))))
        return draw_boxes(small, np.asarray(boxes) * k, labels, scores, class_names=names,
                          width=2, font_size=11), ann.image_id

    fig, axes = plt.subplots(len(evals), 2 * len(picks), squeeze=False,
                             figsize=(2 * len(picks) * 3.3, len(evals) * 2.8))
    for row, (name, res) in enumerate(evals.items()):
        ds = res.dataset
        for col, i in enumerate(picks):
            rec = res.evaluator.records[i]
            ann = ds.annotations[i]
            px = np.array([ann.width, ann.height, ann.width, ann.height], dtype=np.float64)
            gt_img, image_id = view(ds, i, rec.gt_boxes * px, rec.gt_labels.tolist())
            keep = rec.det_scores > SHOW_SCORE
            pred_img, _ = view(ds, i, rec.det_boxes[keep] * px, rec.det_labels[keep].tolist(),
                               rec.det_scores[keep])
            for j, (img, title) in enumerate(((gt_img, f"{image_id}: ground truth"),
                                              (pred_img, f"{name}: prediction"))):
                ax = axes[row][2 * col + j]
                ax.imshow(img)
                ax.set_title(title, fontsize=8)
                ax.set_xticks([]), ax.set_yticks([])
        axes[row][0].set_ylabel(name, fontsize=10)
    fig.suptitle(f"test images: ground truth | prediction (score > {SHOW_SCORE})", fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=90)
    plt.close(fig)
    # photographs in PNG are large: 128 colours (no dithering) keep boxes and text exact at a
    # third of the size
    from PIL import Image

    with Image.open(buf) as im:
        im.convert("RGB").quantize(128, dither=Image.Dither.NONE).save(png, optimize=True)


def draw_pr(evals: dict[str, object], png: Path) -> None:
    """Per class, every row's precision-recall curve at IoU 0.5 on the test split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dirnet.detection.metrics import average_precision, pr_curve

    names = list(next(iter(evals.values())).evaluator.class_names)
    fig, axes = plt.subplots(1, len(names), squeeze=False, figsize=(4.6 * len(names), 4.2))
    for c, cls in enumerate(names):
        ax = axes[0][c]
        for k, (name, res) in enumerate(evals.items()):
            recall, precision, _ = pr_curve(res.evaluator.records, c, 0.5)
            if len(recall) == 0 or math.isnan(recall[0]):
                continue
            ap = 100 * average_precision(recall, precision)
            ax.plot(recall, precision, color=f"C{k}", lw=2.0 if name in ("fp", "dirnet") else 1.2,
                    label=f"{name} (AP {ap:.1f})")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
               title=f"{cls}: IoU 0.5, test split")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)


# --- training ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["run", "table", "dirs"])
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ",".join(ROWS))
    ap.add_argument("--results", default=str(ROOT / "benchmarks/results/detection_bccd.json"))
    ap.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--grid", default=str(ROOT / "benchmarks/results/detection_bccd_grid.png"))
    ap.add_argument("--pr", default=str(ROOT / "benchmarks/results/detection_bccd_pr.png"))
    ap.add_argument("--grid-images", type=int, default=3, help="test images per row in the grid")
    ap.add_argument("--no-pictures", action="store_true",
                    help="table only: do not evaluate the checkpoints for the two PNGs")
    ap.add_argument("--dataset", default="BCCD")
    ap.add_argument("--jobs", type=int, default=1,
                    help="rows trained at once (2 with threads=1 each uses both cores)")
    ap.add_argument("overrides", nargs="*", metavar="key=value",
                    help="applied to every row (e.g. out_dir=/tmp/det threads=1)")
    a = ap.parse_intermixed_args(argv)
    rows = [r for r in a.rows.split(",") if r]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        ap.error(f"unknown rows {unknown}; choose from {ROWS}")
    extra = list(a.overrides)
    if a.action == "run":
        def table(pictures: bool) -> None:
            main(["table", "--results", a.results, "--markdown", a.markdown, "--grid", a.grid,
                  "--pr", a.pr, "--dataset", a.dataset,
                  *([] if pictures else ["--no-pictures"]), *standard_extra(extra)])

        run_rows(rows, extra, a.jobs, lambda: table(False))
        table(True)
        return 0
    if a.action == "dirs":
        for r in rows:
            print(_rel(run_dir_of(r, extra)[0]))
        return 0
    table_rows = read_rows(rows, extra)
    pictures = None
    if not a.no_pictures:
        evals = evaluate_rows(table_rows)
        if evals:
            grid, pr = Path(a.grid), Path(a.pr)
            draw_grid(evals, grid, a.grid_images)
            draw_pr(evals, pr)
            pictures = {"grid": _rel(grid), "pr": _rel(pr)}
            print(f"pictures of {', '.join(evals)}: {grid}, {pr}", flush=True)
        else:
            print("no finished row with a checkpoint: no pictures", flush=True)
    payload = write_table(table_rows, Path(a.results), Path(a.markdown), a.dataset, extra,
                          pictures)
    print(payload["verdict"]["line"])
    print(f"table: {a.results}, {a.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
