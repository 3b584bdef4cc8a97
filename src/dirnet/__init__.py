"""dirnet: accurate binary neural networks (DIR-Net) with bit-packed CPU inference.

    import dirnet
    fp  = dirnet.models.create("resnet20", num_classes=10)
    bnn = dirnet.binarize(fp, method="dirnet")
    dirnet.set_progress(bnn, 0.5)

``dirnet.models``, ``dirnet.data``, ``dirnet.train``, ``dirnet.analysis``,
``dirnet.deploy``, ``dirnet.detection``, ``dirnet.config`` and
``dirnet.checkpoint`` are imported lazily on first attribute access, so
``import dirnet`` stays light and training code never loads deployment code.
"""
from __future__ import annotations

import importlib
from typing import Any

from dirnet import methods
from dirnet._version import __version__ as __version__
from dirnet.convert import binarize
from dirnet.nn import BinaryConv2d, BinaryLinear
from dirnet.progress import set_progress

_LAZY_SUBMODULES = ("models", "data", "train", "analysis", "deploy", "distill", "detection", "config",
                    "checkpoint")
_LAZY_ATTRS = {"summary": ("dirnet.analysis.summary", "summary")}

__all__ = ["binarize", "set_progress", "methods", "BinaryConv2d", "BinaryLinear", "summary",
           *_LAZY_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"dirnet.{name}")
    if name in _LAZY_ATTRS:
        mod, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'dirnet' has no attribute {name!r}")
