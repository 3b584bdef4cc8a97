"""Model summary and information diagnostics of binary networks, with plots.

    import dirnet
    s = dirnet.summary(bnn, (1, 3, 32, 32))           # params / memory / MACs by precision
    dirnet.analysis.weight_entropy(bnn)               # {layer: bits}, binary layers only
    d = dirnet.analysis.diagnose(bnn, images, labels) # every per-layer diagnostic
    dirnet.analysis.analyze("runs/my_run")            # plots + diagnostics of a run

Training code never imports this package. ``dirnet.analysis.plots`` (which
imports matplotlib) is loaded only when a plot is drawn.
"""
from __future__ import annotations

import importlib
from typing import Any

from dirnet.analysis._layers import binary_layers
from dirnet.analysis.diagnostics import (
    Diagnostics,
    activation_and_gradient_stats,
    diagnose,
    quantization_error,
    scale_exponents,
    weight_updating_capability,
)
from dirnet.analysis.entropy import (
    bernoulli_entropy,
    format_entropy_table,
    sign_entropy,
    weight_entropy,
)
from dirnet.analysis.runs import Run, open_run, read_config, read_metrics
from dirnet.analysis.summary import Summary, summary
from dirnet.flips import flip_ratio, flip_ratios, weight_signs

_LAZY = {"plots": "dirnet.analysis.plots", "cli": "dirnet.analysis.cli"}
_LAZY_ATTRS = {"analyze": ("dirnet.analysis.analyze_run", "analyze"),
               "data_batch": ("dirnet.analysis.analyze_run", "data_batch")}

__all__ = [
    "Diagnostics",
    "Run",
    "Summary",
    "activation_and_gradient_stats",
    "analyze",
    "bernoulli_entropy",
    "binary_layers",
    "data_batch",
    "diagnose",
    "flip_ratio",
    "flip_ratios",
    "format_entropy_table",
    "open_run",
    "plots",
    "quantization_error",
    "read_config",
    "read_metrics",
    "scale_exponents",
    "sign_entropy",
    "summary",
    "weight_entropy",
    "weight_signs",
    "weight_updating_capability",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    if name in _LAZY_ATTRS:
        mod, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'dirnet.analysis' has no attribute {name!r}")
