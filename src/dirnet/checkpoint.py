"""Checkpoints: their schema, atomic writes, safe loads, and the model one holds.

A checkpoint file is a plain dict of tensors and plain values, so it loads
with ``weights_only=True`` (never unpickling code); :class:`Checkpoint`
describes its keys. Training writes them (``dirnet.train``); evaluation,
export and analysis read them through :func:`load_model` without importing
the trainer.
"""
from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dirnet.atomic_file import atomic_write
from dirnet.build import build_model
from dirnet.config import RunConfig

FORMAT = 1


@dataclass
class Checkpoint:
    """What a checkpoint file holds (``to_dict`` is the file's dict, keys in this order)."""

    model: dict[str, torch.Tensor]  # the model's state_dict
    optimizer: dict[str, Any]
    epoch: int  # the epoch in progress
    step: int  # batches done in it; 0 at an epoch boundary
    rng: torch.Tensor  # torch CPU RNG state
    config: dict[str, Any]  # RunConfig.to_dict()
    best_val: float = -1.0
    num_classes: int = 10
    in_channels: int = 3
    image_size: int = 32
    class_names: list[str] = field(default_factory=list)
    #: mid-epoch only: the epoch's running totals (loss, correct, ce) over ``step`` batches
    #: and the samples they cover, so the resumed epoch logs the same figures
    epoch_sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    epoch_seen: int = 0
    #: the flip tracker's reference signs ({layer: int8 tensor}), or None without one
    flip_signs: dict[str, torch.Tensor] | None = None
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        d = {"format": self.format}
        d.update((f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
                 if f.name != "format")
        return d


def save_atomic(obj: dict[str, Any], path: str | Path) -> None:
    """Write ``obj`` so that ``path`` appears whole (:func:`dirnet.atomic_file.atomic_write`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        torch.save(obj, f)


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


def _load_failure(exc: BaseException) -> str:
    """At most one line of why torch.load refused a file (its messages run to paragraphs)."""
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:  # the useful part follows torch's advice about weights_only=False
        text = text.split(marker, 1)[1]
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.split(". ", 1)[0].rstrip(".")  # the first sentence
    if isinstance(exc, EOFError):
        line = "the file is empty or ends early"
    elif not line or not isinstance(exc, (RuntimeError, pickle.UnpicklingError)):
        line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def load(path_or_run: str | Path, which: str = "last", map_location="cpu") -> dict[str, Any]:
    """The checkpoint's dict (see :class:`Checkpoint`), checked to be a dirnet checkpoint."""
    path = resolve(path_or_run, which)
    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a corrupt or foreign file: say so plainly, on one line
        raise ValueError(f"{str(path)!r} is not a dirnet checkpoint "
                         f"(torch.load: {_load_failure(e)})") from None
    if not isinstance(ck, dict) or "model" not in ck or "config" not in ck:
        raise ValueError(f"{str(path)!r} is not a dirnet checkpoint (missing model/config)")
    return ck


def config_of(ck: dict[str, Any]) -> RunConfig:
    """The run configuration a loaded checkpoint was trained with."""
    return RunConfig.from_dict(ck["config"])


def load_model(path_or_run: str | Path, which: str = "last") -> tuple[nn.Module, RunConfig]:
    """Rebuild the trained model from a run directory or checkpoint: ``(model, config)``.

    The model is in eval mode, on the CPU.
    """
    ck = load(path_or_run, which)
    return model_from(ck), config_of(ck)


def model_from(ck: dict[str, Any]) -> nn.Module:
    """The model a loaded checkpoint holds, weights in place, in eval mode."""
    model = build_model(config_of(ck), num_classes=ck["num_classes"],
                        in_channels=ck["in_channels"], image_size=ck.get("image_size", 32))
    model.load_state_dict(ck["model"])
    return model.eval()
