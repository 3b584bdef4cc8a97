"""Describe the machine a benchmark ran on (CPU model, flags, threads, versions)."""
from __future__ import annotations

import os
import platform
from typing import Any


def machine_info() -> dict[str, Any]:
    import torch

    model, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "", platform.processor()):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    break
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vpopcntdq", "popcnt", "fma", "f16c")
    return {
        "cpu": model,
        "flags": [f for f in wanted if f in flags],
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_avg": os.getloadavg(),
    }
