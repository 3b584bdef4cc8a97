"""Deployment benchmark: `dirnet bench` (native .dbnn runtime vs PyTorch fp32) and issue 5's targets.

    python benchmarks/bench_deploy.py --arch resnet18      # the issue's targets
    python benchmarks/bench_deploy.py --arch resnet20 --batch 1 16

Takes `dirnet bench`'s arguments and runs it (the measurements, their printout
and benchmarks/results/deploy_<arch>.json are its), then judges the targets
(deploy_report.TARGETS: 8x end to end, 12x per binary 3x3 conv, 16x smaller
file), adds them to the JSON as ``targets`` and prints them. See BENCHMARKS.md
(deployment section); `benchmarks/deploy_report.py` makes its tables.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_report import target_lines, targets  # noqa: E402

from dirnet.deploy.bench import run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    report, out = run(argv)
    report["targets"] = targets(report)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("\nTargets (issue 5):")
    print("\n".join(target_lines(report["targets"])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
