"""Deployment benchmark: native .dbnn runtime vs PyTorch fp32 (same as `dirnet bench`).

    python benchmarks/bench_deploy.py --arch resnet18      # the issue's targets
    python benchmarks/bench_deploy.py --arch resnet20 --batch 1 16

Writes benchmarks/results/deploy_<arch>.json; see BENCHMARKS.md (deployment section).
"""
from __future__ import annotations

import sys

from dirnet.deploy.bench import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
