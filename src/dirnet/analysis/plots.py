"""Matplotlib PNG plots of runs and models.

Figures are drawn with ``matplotlib.figure.Figure`` on an Agg canvas, never
through pyplot, so no display is needed and the user's own matplotlib backend
(e.g. inline in a notebook) is left alone. Every function writes one PNG and
returns its path.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from matplotlib.ticker import MaxNLocator
from torch import nn

from dirnet.analysis._layers import require_binary_layers


def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (8, 4.5)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
    return path


def _series(metrics: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for i, row in enumerate(metrics):
        v = row.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            xs.append(row.get("epoch", i))
            ys.append(float(v))
    return xs, ys


def _as_runs(data: Any, what: str) -> dict[str, Any]:
    """Accept one item or a {label: item} mapping of several runs."""
    if isinstance(data, Mapping) and data and all(isinstance(v, (Mapping, list)) for v in
                                                 data.values()):
        return dict(data)
    if isinstance(data, (Mapping, list)):
        return {"": data}
    raise TypeError(f"{what}: expected a mapping or a list, got {type(data).__name__}")


def plot_training_curves(metrics: Sequence[Mapping[str, Any]], path: str | Path,
                         title: str | None = None) -> Path:
    """Loss, top-1 accuracy and learning rate per epoch from ``metrics.jsonl`` rows."""
    if not metrics:
        raise ValueError("plot_training_curves: no epochs in the metrics")
    fig, ax = _figure(1, 3, (13, 4))
    panels = (
        (ax[0, 0], "loss", ("train_loss", "test_loss")),
        (ax[0, 1], "accuracy (%)", ("train_top1", "val_top1", "test_top1", "test_top5")),
        (ax[0, 2], "learning rate", ("lr",)),
    )
    for a, ylabel, keys in panels:
        for key in keys:
            xs, ys = _series(metrics, key)
            if xs:
                a.plot(xs, ys, marker="." if len(xs) < 30 else None, label=key)
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.set_ylabel(ylabel)
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _grouped_bars(a, runs: dict[str, Mapping[str, float]], ylabel: str) -> None:
    layers: list[str] = []
    for values in runs.values():
        layers += [k for k in values if k not in layers]
    n = max(len(runs), 1)
    width = 0.8 / n
    for i, (label, values) in enumerate(runs.items()):
        xs = [j + (i - (n - 1) / 2) * width for j, k in enumerate(layers) if k in values]
        ys = [float(values[k]) for k in layers if k in values]
        a.bar(xs, ys, width=width, label=label or None)
    a.set_xticks(range(len(layers)))
    a.set_xticklabels(layers, rotation=90, fontsize=7)
    a.set_ylabel(ylabel)
    a.grid(axis="y", alpha=0.3)
    if n > 1 or any(runs):  # above the axes: bars fill the plot area
        a.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=min(n, 4),
                 frameon=False)


def plot_layer_entropy(entropy: Mapping[str, float] | Mapping[str, Mapping[str, float]],
                       path: str | Path, title: str = "binary weight entropy per layer") -> Path:
    """Bar chart of per-layer weight entropy (bits); ``{label: {layer: bits}}`` groups runs."""
    runs = _as_runs(entropy, "plot_layer_entropy")
    if not any(runs.values()):
        raise ValueError("plot_layer_entropy: no layers to plot (is the model binarized?)")
    fig, ax = _figure(1, 1, (max(6.0, 0.35 * max(len(v) for v in runs.values()) + 3), 4.5))
    _grouped_bars(ax[0, 0], runs, "entropy (bits / weight)")
    ax[0, 0].axhline(1.0, color="grey", lw=0.8, ls="--")
    low = min(float(v) for values in runs.values() for v in values.values())
    # Near-balanced layers differ in the third decimal: zoom the axis, and say so.
    bottom = 0.0 if low < 0.5 else math.floor(low * 20) / 20 - 0.05
    ax[0, 0].set_ylim(bottom, 1.01)
    if bottom > 0:
        ax[0, 0].set_ylabel(f"entropy (bits / weight; axis from {bottom:.2f})")
    ax[0, 0].set_title(title, loc="left")
    return _save(fig, path)


def plot_flip_ratio(metrics: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]],
                    path: str | Path) -> Path:
    """Mean weight-sign flip ratio per epoch (left) and, when the metrics hold the per-layer
    ``flip`` dicts, the last epoch's ratio per layer (right). ``{label: metrics}`` overlays runs."""
    runs = _as_runs(metrics, "plot_flip_ratio")
    if not any(_series(m, "flip_ratio")[0] for m in runs.values()):
        raise ValueError("plot_flip_ratio: the metrics hold no 'flip_ratio' entries")
    last_flip = {}
    for label, m in runs.items():
        rows = [r for r in m if isinstance(r.get("flip"), Mapping)]
        if rows:
            last_flip[label] = {k: float(v) for k, v in rows[-1]["flip"].items()}
    fig, ax = _figure(1, 2 if last_flip else 1, (13, 4.5) if last_flip else (7, 4.5))
    a = ax[0, 0]
    for label, m in runs.items():
        xs, ys = _series(m, "flip_ratio")
        if xs:
            a.plot(xs, ys, marker="." if len(xs) < 30 else None, label=label or "flip ratio")
    a.set_yscale("log" if all(y > 0 for m in runs.values() for y in _series(m, "flip_ratio")[1])
                 else "linear")
    a.set_xlabel("epoch")
    a.xaxis.set_major_locator(MaxNLocator(integer=True))
    a.set_ylabel("fraction of weight signs flipped")
    a.set_title("weight-sign flip ratio (mean over binary layers)")
    a.grid(alpha=0.3)
    a.legend(fontsize=8)
    if last_flip:
        _grouped_bars(ax[0, 1], last_flip, "flip ratio (last epoch)")
        ax[0, 1].set_title("per layer, last epoch", loc="left")
    return _save(fig, path)


def plot_estimator_shapes(path: str | Path, t_min: float = 1e-3, t_max: float = 10.0,
                          progress: Sequence[float] = (0.0, 0.5, 1.0),
                          sigmas: Sequence[float] = (0.5, 2.0), x_range: float = 3.0) -> Path:
    """Backward approximations of sign at several training progresses p.

    Clipped STE (fixed), IR-Net's EDE (two-stage ``k t (1 - tanh^2(t x))``) and
    DIR-Net's DTE, whose soft region follows the activation spread sigma:
    ``(k t / sigma)(1 - tanh^2(t x / sigma))`` (with sigma = 1 it equals EDE).
    The curves come from the library's own estimator objects.
    """
    from dirnet.parts.estimators import DTE, EDE, ClippedSTE

    if not progress:
        raise ValueError("plot_estimator_shapes: give at least one progress value")
    x = torch.linspace(-x_range, x_range, 601)
    ste, ede, dte = ClippedSTE(), EDE(t_min, t_max, "iteration"), DTE(t_min, t_max, "iteration")
    fig, ax = _figure(1, len(progress), (4.2 * len(progress), 4))
    for a, p in zip(ax[0], progress):
        ede.set_progress(p)
        dte.set_progress(p)
        a.plot(x, ste.derivative(x), label="STE (clipped)", color="grey", lw=1)
        a.plot(x, ede.derivative(x), label="EDE", lw=2)
        for s in sigmas:
            a.plot(x, dte.derivative(x / s) / s, ls="--", label=f"DTE, sigma={s:g}")
        a.set_title(f"p = {p:g}: t = {float(ede.t):.3g}, k = {float(ede.k):.3g}")
        a.set_xlabel("x")
        a.grid(alpha=0.3)
    ax[0, 0].set_ylabel("dQ/dx (backward of sign)")
    ax[0, 0].legend(fontsize=8)
    fig.suptitle(f"gradient estimators across the schedule (t {t_min:g} -> {t_max:g})")
    return _save(fig, path)


@torch.no_grad()
def plot_weight_histograms(model: nn.Module, path: str | Path, max_layers: int = 4,
                           bins: int = 80) -> Path:
    """Latent weights before (raw W) and after IMB (balanced, standardized per filter).

    Up to ``max_layers`` binary layers, spread over the depth of the network.
    The IMB view is computed with the IMB transform whatever the layer's method,
    so one can see what IMB would do to, e.g., a bnn model's weights.
    """
    from dirnet.parts.weights import IMB

    layers = require_binary_layers(model)
    if max_layers < 1:
        raise ValueError(f"max_layers must be >= 1, got {max_layers}")
    if len(layers) > max_layers:
        idx = sorted({round(i * (len(layers) - 1) / (max_layers - 1)) for i in range(max_layers)}) \
            if max_layers > 1 else [0]
        layers = [layers[i] for i in idx]
    imb = IMB()
    fig, ax = _figure(len(layers), 2, (10, 2.4 * len(layers) + 0.6))
    for row, (name, m) in enumerate(layers):
        w = m.weight.detach().float()
        w_std = imb.standardize(w)
        for col, (vals, label) in enumerate(((w, "latent W"), (w_std, "after IMB"))):
            a = ax[row, col]
            v = vals.flatten().cpu().numpy()
            a.hist(v, bins=bins, color="C0" if col == 0 else "C1")
            a.axvline(0.0, color="k", lw=0.8)
            pos = float((vals >= 0).double().mean())
            a.set_title(f"{name} ({m.method}): {label}, +1 fraction {pos:.3f}", fontsize=9)
    return _save(fig, path)
