"""Checkpoints: atomic writes, safe loads (``weights_only=True``: never unpickle code).

A checkpoint is a dict of tensors and plain values: ``model``, ``optimizer``,
``epoch`` (the epoch in progress), ``step`` (batches done in it; 0 at an epoch
boundary), ``rng`` (torch CPU RNG state), ``config`` and ``metrics``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = 1


def save_atomic(obj: dict[str, Any], path: str | Path) -> None:
    """Write to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def resolve(path_or_run: str | Path, which: str = "last") -> Path:
    """A checkpoint file from a file path or a run directory (``RUN/checkpoints/<which>.pt``)."""
    p = Path(path_or_run)
    if p.is_dir():
        ck = p / "checkpoints" / f"{which}.pt"
        if not ck.is_file():
            raise FileNotFoundError(f"run directory {str(p)!r} has no checkpoints/{which}.pt")
        return ck
    if not p.is_file():
        raise FileNotFoundError(f"no checkpoint or run directory at {str(p)!r}")
    return p


def load(path_or_run: str | Path, which: str = "last", map_location="cpu") -> dict[str, Any]:
    path = resolve(path_or_run, which)
    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a corrupt or foreign file: say so plainly
        raise ValueError(f"{str(path)!r} is not a readable dirnet checkpoint: {e}") from None
    if not isinstance(ck, dict) or "model" not in ck or "config" not in ck:
        raise ValueError(f"{str(path)!r} is not a dirnet checkpoint (missing model/config)")
    return ck


def load_model(path_or_run: str | Path, which: str = "last"):
    """Rebuild the trained model from a run directory or checkpoint: ``(model, config)``.

    The model is in eval mode, on the CPU.
    """
    ck = load(path_or_run, which)
    return model_from(ck), ck["config"]


def model_from(ck: dict[str, Any]) -> nn.Module:
    """The model a loaded checkpoint holds, weights in place, in eval mode."""
    from dirnet.train.builders import build_model

    model = build_model(ck["config"], num_classes=ck["num_classes"], in_channels=ck["in_channels"],
                        image_size=ck.get("image_size", 32))
    model.load_state_dict(ck["model"])
    return model.eval()
