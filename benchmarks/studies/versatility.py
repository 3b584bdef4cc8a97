"""Versatility: every zoo family, fp and dirnet, trained on one short CPU budget.

    python benchmarks/studies/versatility.py run   [--families a,b,...] [overrides...]   # train what is missing
    python benchmarks/studies/versatility.py dirs  [--families ...]                      # each row's run dir

Each family has two rows, ``configs/versatility/<arch>_fp.yaml`` and
``<arch>_dirnet.yaml`` (CIFAR-10 32x32, the first 10,000 training images, 4
epochs; the budget is in the configs' comments). ``dirnet`` distils from its
family's ``fp`` row (RBD), so ``fp`` trains first; runs resume when their
directory holds a checkpoint and are skipped when finished. Families train
one after the other; start two processes with disjoint ``--families`` to use
two cores.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/studies/ -> the repository
sys.path.insert(0, str(ROOT / "benchmarks" / "studies"))
from rowstudy import RowStudy  # noqa: E402

FAMILIES = ["resnet20", "resnet18", "vgg_small", "mobilenet_v1", "mobilenet_v2", "efficientnet_b0", "darts"]
ROWS = ["fp", "dirnet"]


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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["run", "dirs"])
    ap.add_argument("--families", help="comma-separated subset of " + ",".join(FAMILIES))
    args, extra = ap.parse_known_args(argv)
    for arch in families(args.families):
        s = study(arch)
        if args.action == "dirs":
            for row in ROWS:
                print(arch, row, s.run_dir_of(row, extra)[0])
            continue
        s.run_rows(ROWS, extra, jobs=1, on_finish=lambda: None)


if __name__ == "__main__":
    main()
