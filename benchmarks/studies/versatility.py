"""Versatility: every zoo family, fp and dirnet, trained on one short CPU budget.

    python benchmarks/studies/versatility.py run   [--families a,b,...] [overrides...]   # train what is missing
    python benchmarks/studies/versatility.py dirs  [--families ...]                      # each row's run dir
    python benchmarks/studies/versatility.py table [--families ...] [--no-bench]         # rebuild JSON/MD

Each family has two rows, ``configs/versatility/<arch>_fp.yaml`` and
``<arch>_dirnet.yaml`` (CIFAR-10 32x32, the first 10,000 training images, 4
epochs; the budget is in the configs' comments). ``dirnet`` distils from its
family's ``fp`` row (RBD), so ``fp`` trains first; runs resume when their
directory holds a checkpoint and are skipped when finished. Families train
one after the other; start two processes with disjoint ``--families`` to use
two cores.

``table`` fills benchmarks/results/versatility.json and the ``versatility``
block of BENCHMARKS.md from the finished rows: PyTorch test top-1 (the run's
own evaluation), the fp32 and fp16 ``.dbnn`` exports' top-1 and how many test
predictions they share with PyTorch (every row is exported and evaluated on
the same test loader), and, unless ``--no-bench``, ``dirnet bench`` of the
family at 224x224, batch 1, one thread (native dirnet vs PyTorch fp32, the
same architecture with random weights, and the file-size ratio).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/studies/ -> the repository
sys.path.insert(0, str(ROOT / "benchmarks" / "studies"))
from rowstudy import RowStudy  # noqa: E402

FAMILIES = ["resnet20", "resnet18", "vgg_small", "mobilenet_v1", "mobilenet_v2", "efficientnet_b0", "darts"]
ROWS = ["fp", "dirnet"]
RESULTS = ROOT / "benchmarks" / "results"
MARK_START, MARK_END = "<!-- versatility:start -->", "<!-- versatility:end -->"
BENCH_SIZE = (3, 224, 224)
#: VGG-Small's classifier is a fixed 512*4*4 -> classes linear: it only runs at 32x32
BENCH_SIZE_FOR = {"vgg_small": (3, 32, 32)}


def study(arch: str) -> RowStudy:
    return RowStudy(lambda row: ROOT / "configs" / "versatility" / f"{arch}_{row}.yaml", metric="test_top1")


def families(arg: str | None) -> list[str]:
    if not arg:
        return FAMILIES
    chosen = [f.strip() for f in arg.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise SystemExit(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    return chosen


def predictions(model, cfg):
    """(argmax predictions, labels) of ``model`` (torch module or deployed runtime) on the run's test split."""
    import numpy as np
    import torch

    from dirnet.data import BatchLoader, build

    bundle = build(cfg.data.name, cfg.data.root, val_size=0, seed=cfg.seed)
    ds = bundle.test
    if cfg.data.test_subset:
        ds = ds.subset(torch.arange(min(int(cfg.data.test_subset), len(ds))))
    loader = BatchLoader(ds, 500, train=False, augment=None, seed=0, mean=bundle.mean, std=bundle.std)
    preds, labels = [], []
    with torch.no_grad():
        for x, y in loader:
            out = model(x) if isinstance(model, torch.nn.Module) else torch.as_tensor(model(x.numpy()))
            preds.append(out.argmax(1).numpy())
            labels.append(y.numpy())
    return np.concatenate(preds), np.concatenate(labels)


def export_row(run_dir: Path, cfg) -> dict:
    """PyTorch and exported (fp32, fp16) top-1 of a finished row, and the predictions they share."""
    import dirnet.deploy as deploy
    from dirnet.checkpoint import load, model_from

    torch_pred, labels = predictions(model_from(load(str(run_dir), "last")).eval(), cfg)
    row = {"torch_top1": round(100 * float((torch_pred == labels).mean()), 2), "n": int(labels.size)}
    for prec in ("fp32", "fp16"):
        path = run_dir / f"model_{prec}.dbnn"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "dirnet", "export", str(run_dir), "-o", str(path),
                            "--precision", prec], check=True, cwd=ROOT)
        pred, _ = predictions(deploy.load(path), cfg)
        row[f"{prec}_top1"] = round(100 * float((pred == labels).mean()), 2)
        row[f"{prec}_same_predictions"] = int((pred == torch_pred).sum())
        row[f"{prec}_bytes"] = path.stat().st_size
    return row


def bench_family(arch: str, cfg) -> dict:
    """``dirnet bench`` of the family at 224x224, batch 1, 1 thread (random weights, the trained options)."""
    out = RESULTS / "versatility" / f"bench_{arch}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    size = BENCH_SIZE_FOR.get(arch, BENCH_SIZE)
    cmd = [sys.executable, "-m", "dirnet", "bench", "--arch", arch, "--input-size", *map(str, size),
           "--num-classes", "10", "--threads", "1", "--batch", "1", "--no-per-layer", "--reps", "10",
           "--out", str(out.relative_to(ROOT))]
    for k, v in cfg.model.kwargs.items():
        cmd += ["--model-arg", f"{k}={v}"]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return bench_summary(out)


def bench_summary(path: Path) -> dict:
    """What the table shows of one ``dirnet bench`` report (ONNX Runtime when it was installed)."""
    rep = json.loads(path.read_text())
    e2e = rep["end_to_end"][0]
    best = rep["kernels_timed"][0]
    out = {"command": rep["command"], "kernel": best, "input_size": rep["input_size"],
           "torch_fp32_ms": e2e["ms"]["torch_fp32"], "native_ms": e2e["ms"][f"native_{best}"],
           "speedup": e2e["speedup"][best], "size_ratio": rep["size"]["ratio"],
           "fp32_state_dict_bytes": rep["size"]["fp32_state_dict_bytes"],
           "dbnn_fp16_bytes": rep["size"]["dbnn_bytes"], "cpu": rep["cpu"]["model"],
           "load_average": rep["cpu"].get("load_average_start")}
    if "onnxruntime_fp32" in e2e["ms"]:
        out["onnxruntime_fp32_ms"] = e2e["ms"]["onnxruntime_fp32"]
        out["speedup_vs_onnxruntime"] = e2e["speedup_vs_onnxruntime"][best]
    return out


def table(fams: list[str], bench: bool) -> None:
    """Rebuild benchmarks/results/versatility.json and the BENCHMARKS.md block from the finished rows."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from mdblock import replace_block

    out_json = RESULTS / "versatility.json"
    old = json.loads(out_json.read_text()) if out_json.exists() else {}
    old_rows = {r["arch"]: r for r in old.get("rows", [])}
    rows = []
    for arch in FAMILIES:
        if arch not in fams:
            if arch in old_rows:
                kept = old_rows[arch]
                bench_json = RESULTS / "versatility" / f"bench_{arch}.json"
                if bench_json.exists():
                    kept["bench"] = bench_summary(bench_json)
                rows.append(kept)
            continue
        s = study(arch)
        entry: dict = {"arch": arch}
        cfg = None
        for r in ROWS:
            run_dir, cfg = s.run_dir_of(r, [])
            if not s.finished(r, []):
                entry[r] = None
                continue
            try:
                entry[r] = export_row(run_dir, cfg)
            except Exception as exc:  # a family that cannot deploy yet is a row that says so
                entry[r] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
            entry[r]["command"] = s.run_facts(r, [])["command"]
        bench_json = RESULTS / "versatility" / f"bench_{arch}.json"
        if bench and cfg is not None:
            try:
                entry["bench"] = bench_family(arch, cfg)
            except subprocess.CalledProcessError as exc:
                entry["bench"] = {"error": f"dirnet bench failed (exit {exc.returncode})"}
        elif bench_json.exists():  # --no-bench: the last measurement stands
            entry["bench"] = bench_summary(bench_json)
        rows.append(entry)
    data = {"budget": "CIFAR-10 32x32, first 10,000 training images, 4 epochs (configs/versatility/)",
            "latency": "dirnet bench at 224x224, batch 1, 1 thread, fp16 file, random weights",
            "rows": rows}
    out_json.write_text(json.dumps(data, indent=2) + "\n")
    replace_block(ROOT / "BENCHMARKS.md", markdown(data), MARK_START, MARK_END, "Versatility: every zoo family")
    print(f"wrote {out_json.relative_to(ROOT)} and the BENCHMARKS.md block")


def _cell(row: dict | None, key: str, fmt: str = "{:.2f}") -> str:
    if row is None:
        return "not finished"
    if "error" in row:
        return "export fails"
    return fmt.format(row[key])


def markdown(data: dict) -> str:
    lines = [MARK_START, "",
             f"Budget: {data['budget']}; latency: {data['latency']}. Test top-1 in percent on the",
             "full CIFAR-10 test split; *same* = test predictions the export shares with PyTorch.", "",
             "| family | fp top-1 | dirnet top-1 | dirnet fp32 export (same) | dirnet fp16 export (same) "
             "| fp32 export of fp (same) | native vs PyTorch fp32, 224 | vs ONNX Runtime fp32 | file-size ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        fp, bn, b = r.get("fp"), r.get("dirnet"), r.get("bench") or {}
        def same(row, prec):
            if row is None or "error" in row:
                return _cell(row, "")
            return f"{row[prec + '_top1']:.2f} ({row[prec + '_same_predictions']}/{row['n']})"
        at = "" if tuple(b.get("input_size", BENCH_SIZE)) == BENCH_SIZE else f", at {b['input_size'][1]}x{b['input_size'][2]}"
        speed = (f"{b['speedup']:.2f}x ({b['native_ms']:.2f} vs {b['torch_fp32_ms']:.2f} ms{at})"
                 if "speedup" in b else b.get("error", "-"))
        size = f"{b['size_ratio']:.1f}x" if "size_ratio" in b else "-"
        ort = (f"{b['speedup_vs_onnxruntime']:.2f}x ({b['onnxruntime_fp32_ms']:.2f} ms)"
               if "speedup_vs_onnxruntime" in b else "-")
        lines.append(f"| {r['arch']} | {_cell(fp, 'torch_top1')} | {_cell(bn, 'torch_top1')} | {same(bn, 'fp32')} "
                     f"| {same(bn, 'fp16')} | {same(fp, 'fp32')} | {speed} | {ort} | {size} |")
    errors = [(r["arch"], k, r[k]["error"]) for r in data["rows"] for k in ROWS if r.get(k) and "error" in r[k]]
    if errors:
        lines += ["", "Export failures: " + "; ".join(f"{a} {k}: {e}" for a, k, e in errors)]
    lines += ["", "Rebuild: `python benchmarks/studies/versatility.py table` (train with `... run`).", MARK_END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["run", "dirs", "table"])
    ap.add_argument("--no-bench", action="store_true", help="table: skip the latency measurements")
    ap.add_argument("--refresh", action="store_true",
                    help="table: rewrite JSON and Markdown from the rows and bench reports on disk, run nothing")
    ap.add_argument("--families", help="comma-separated subset of " + ",".join(FAMILIES))
    args, extra = ap.parse_known_args(argv)
    if args.action == "table":
        table([] if args.refresh else families(args.families), bench=not args.no_bench)
        return
    for arch in families(args.families):
        s = study(arch)
        if args.action == "dirs":
            for row in ROWS:
                print(arch, row, s.run_dir_of(row, extra)[0])
            continue
        s.run_rows(ROWS, extra, jobs=1, on_finish=lambda: None)


if __name__ == "__main__":
    main()
