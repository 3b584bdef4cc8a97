"""Reading a run directory written by the trainer.

Layout: ``RUN/config.yaml`` (the resolved config), ``RUN/metrics.jsonl`` (one
JSON object per epoch: ``epoch``, ``train_loss``, ``train_top1``,
``test_loss``, ``test_top1``, ``test_top5``, ``lr``, ``epoch_s``, optional
``val_top1``, ``flip_ratio`` and ``flip`` = {layer: ratio}) and
``RUN/checkpoints/last.pt``. Any part may be missing; readers say which.
``read_metrics`` is :func:`dirnet.metrics.read_metrics` (a missing file is ``[]``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dirnet.metrics import read_metrics

__all__ = ["CHECKPOINT_NAMES", "Run", "open_run", "read_config", "read_metrics"]

CHECKPOINT_NAMES = ("checkpoints/last.pt", "checkpoints/best.pt", "last.pt", "model.pt")


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/config.yaml`` as a dict ({} when the run has none)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return {}
    import yaml

    with path.open(encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if cfg is None:
        return {}
    if not isinstance(cfg, dict):  # bad file content, not a bad argument
        raise ValueError(  # noqa: TRY004
            f"{path}: expected a mapping at the top level, got {type(cfg).__name__}")
    return cfg


@dataclass
class Run:
    """A run directory (``dir``), its checkpoint (or None), config and metrics."""

    dir: Path
    checkpoint: Path | None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.dir.name


def open_run(run_or_ckpt: str | Path) -> Run:
    """Resolve a run directory or a checkpoint file.

    A checkpoint inside ``RUN/checkpoints/`` (or directly in ``RUN/``) belongs to
    that run when the run has a metrics.jsonl or config.yaml next to it.
    """
    p = Path(run_or_ckpt)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist (expected a run directory or a checkpoint file)")
    if p.is_dir():
        ckpt = next((p / c for c in CHECKPOINT_NAMES if (p / c).is_file()), None)
        run_dir = p
    else:
        ckpt = p
        run_dir = p.parent.parent if p.parent.name == "checkpoints" else p.parent
        if not ((run_dir / "metrics.jsonl").is_file() or (run_dir / "config.yaml").is_file()):
            run_dir = p.parent
    metrics = read_metrics(run_dir)  # [] while the run has written none
    if ckpt is None and not metrics:
        raise FileNotFoundError(f"{p} holds neither a checkpoint ({', '.join(CHECKPOINT_NAMES)}) "
                                "nor a metrics.jsonl; is it a dirnet run directory?")
    return Run(dir=run_dir, checkpoint=ckpt, config=read_config(run_dir), metrics=metrics)
