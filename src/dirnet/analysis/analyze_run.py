"""``analyze(run_or_ckpt)``: diagnostics and plots for a finished (or running) training run.

Writes into ``OUT`` (default ``RUN/analysis/``):
  curves.png        training curves from metrics.jsonl
  flip_ratio.png    weight-sign flip ratio per epoch (if the trainer recorded it)
  entropy.png       per-layer binary weight entropy of the checkpoint's model
  weight_hist.png   latent weights before and after IMB, a few layers
  estimators.png    STE vs EDE vs DTE derivative at p = 0, 0.5, 1 (the run's t range)
  diagnostics.json / diagnostics.txt   every per-layer diagnostic
and, given a second run, the same files with suffix _2 for it, compare_entropy.png,
compare_entropy.txt (per-layer entropy table of both runs) and compare_flip_ratio.png.

Activation statistics need a batch: the test split of the run's data set
(config key ``data``: a name or a mapping with ``name``/``dataset`` and
``root``), or ``data=``; without one, a standard-normal batch is used and the
note says so (activation numbers on noise only show the binarizer's balance,
not the network's behaviour on images).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dirnet.analysis._layers import binary_layers
from dirnet.analysis.diagnostics import Diagnostics, diagnose
from dirnet.analysis.entropy import format_entropy_table
from dirnet.analysis.runs import Run, open_run


@dataclass
class AnalysisResult:
    """What :func:`analyze` produced: file paths, per-run diagnostics and notes."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    diagnostics: dict[str, Diagnostics] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: side-by-side per-layer weight entropy of the two runs (empty for one run)
    entropy_table: str = ""


def _load_model(checkpoint: Path) -> tuple[nn.Module, dict[str, Any]]:
    """The checkpoint's model and its config as a plain dict (one place for tests to replace)."""
    from dirnet.checkpoint import load_model

    model, cfg = load_model(checkpoint)
    return model, cfg.to_dict()


def _data_spec(config: dict[str, Any], data: str | None, root: str | None
               ) -> tuple[str | None, str | None]:
    if data is not None:
        return data, root
    d = config.get("data")
    if isinstance(d, str):
        return d, root
    if isinstance(d, dict):
        name = d.get("name") or d.get("dataset")
        return (str(name) if name else None), (root or d.get("root"))
    return None, root


def _first_conv_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 3


def data_batch(model: nn.Module, config: dict[str, Any] | None = None, *, data: str | None = None,
               root: str | None = None, n: int = 64, image_size: int = 32
               ) -> tuple[Tensor, Tensor | None, str]:
    """``(images, labels or None, note)``: ``n`` normalised test images, else a random batch.

    Uses ``dirnet.data.build(name, root)``; when no data set is configured or it
    cannot be loaded, returns a standard-normal batch of shape
    ``(n, C, image_size, image_size)`` and a note that says why.
    """
    name, root = _data_spec(config or {}, data, root)
    reason = "no data set configured"
    if name:
        try:
            import dirnet.data as ddata

            bundle = ddata.build(name, root)
            split = bundle.test if bundle.test is not None else bundle.train
            k = min(n, len(split))
            idx = torch.arange(k)
            images = split.load_batch(idx, None, torch.Generator().manual_seed(0))
            labels = getattr(split, "labels", None)
            if labels is not None:
                labels = torch.as_tensor(labels[:k]).long()
            else:  # lazy folder data sets keep (path, label) samples
                labels = torch.tensor([split.samples[i][1] for i in range(k)])
            x = ddata.normalize(images, bundle.mean, bundle.std)
            which = "test" if bundle.test is not None else "training"
            return x, labels, f"{k} {which} images of {name}"
        except Exception as e:  # noqa: BLE001 - any failure falls back, and the note says why
            reason = f"data set {name!r} could not be loaded ({type(e).__name__}: {e})"
    g = torch.Generator().manual_seed(0)
    c = _first_conv_channels(model)
    x = torch.randn(n, c, image_size, image_size, generator=g)
    return x, None, (f"{reason}: used a random N(0, 1) batch of shape {tuple(x.shape)} and the "
                     "model's own predictions as labels; activation numbers reflect noise, "
                     "not images")


def _schedule_range(model: nn.Module) -> tuple[float, float]:
    for _, m in binary_layers(model):
        for q in (m.input_quantizer, m.weight_quantizer):
            est = q.estimator
            if hasattr(est, "t_min"):
                return float(est.t_min), float(est.t_max)
    return 1e-3, 10.0


def _labels(runs: Sequence[Run]) -> list[str]:
    names = [r.name for r in runs]
    if len(set(names)) == len(names):
        return names
    return [f"run{i + 1}: {r.dir}" for i, r in enumerate(runs)]


def analyze(run_or_ckpt: str | Path, run2: str | Path | None = None, *,
            out: str | Path | None = None, data: str | None = None, data_root: str | None = None,
            batch_size: int = 64, image_size: int = 32) -> AnalysisResult:
    """Write every plot and diagnostic for one run (and comparisons with ``run2``)."""
    from dirnet.analysis import plots

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    runs = [open_run(run_or_ckpt)] + ([open_run(run2)] if run2 is not None else [])
    out_dir = Path(out) if out is not None else runs[0].dir / "analysis"
    res = AnalysisResult(out_dir=out_dir)
    labels = _labels(runs)
    entropies: dict[str, dict[str, float]] = {}
    t_range: tuple[float, float] | None = None

    for i, (run, label) in enumerate(zip(runs, labels)):
        suffix = "" if i == 0 else f"_{i + 1}"
        if run.metrics:
            res.files.append(plots.plot_training_curves(run.metrics, out_dir / f"curves{suffix}.png",
                                                        title=label))
            if any("flip_ratio" in r for r in run.metrics):
                res.files.append(plots.plot_flip_ratio(run.metrics,
                                                       out_dir / f"flip_ratio{suffix}.png"))
            else:
                res.notes.append(f"{label}: metrics.jsonl has no flip_ratio; flip plot skipped")
        else:
            res.notes.append(f"{label}: no metrics.jsonl; training curves skipped")
        if run.checkpoint is None:
            res.notes.append(f"{label}: no checkpoint; model diagnostics skipped")
            continue
        model, cfg = _load_model(run.checkpoint)
        config = {**run.config, **(cfg or {})}
        if not binary_layers(model):
            res.notes.append(f"{label}: the model has no binary layers; diagnostics skipped")
            continue
        x, y, note = data_batch(model, config, data=data, root=data_root, n=batch_size,
                                image_size=image_size)
        diag = diagnose(model, x, y, batch_note=note)
        res.diagnostics[label] = diag
        entropies[label] = diag.column("weight_entropy")
        (out_dir).mkdir(parents=True, exist_ok=True)
        for ext, text in (("json", diag.to_json()), ("txt", str(diag))):
            p = out_dir / f"diagnostics{suffix}.{ext}"
            p.write_text(text + "\n", encoding="utf-8")
            res.files.append(p)
        res.files.append(plots.plot_layer_entropy(entropies[label], out_dir / f"entropy{suffix}.png",
                                                  title=f"binary weight entropy: {label}"))
        res.files.append(plots.plot_weight_histograms(model, out_dir / f"weight_hist{suffix}.png"))
        t_range = t_range or _schedule_range(model)

    t_min, t_max = t_range or (1e-3, 10.0)
    res.files.append(plots.plot_estimator_shapes(out_dir / "estimators.png", t_min, t_max))
    if len(runs) == 2:
        if len(entropies) == 2:
            res.files.append(plots.plot_layer_entropy(entropies, out_dir / "compare_entropy.png",
                                                      title="binary weight entropy per layer"))
            res.entropy_table = format_entropy_table(entropies)
            p = out_dir / "compare_entropy.txt"
            p.write_text(res.entropy_table + "\n", encoding="utf-8")
            res.files.append(p)
        else:
            res.notes.append("entropy comparison skipped: both runs need a checkpoint")
        with_flips = {lab: r.metrics for lab, r in zip(labels, runs)
                      if any("flip_ratio" in m for m in r.metrics)}
        if with_flips:
            res.files.append(plots.plot_flip_ratio(with_flips, out_dir / "compare_flip_ratio.png"))
        else:
            res.notes.append("flip-ratio comparison skipped: no run recorded flip_ratio")
    return res
