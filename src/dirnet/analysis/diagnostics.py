"""Per-layer information diagnostics of a binary model (DIR-Net's forward/backward argument).

Forward pass (information retained by the binary values):
  - weight entropy: mean per-filter Bernoulli entropy of the binarized weights;
  - activation sign balance: fraction of +1 among a layer's binarized inputs on
    a batch, and their mean per-channel entropy;
  - scale exponents: ``log2`` of the per-channel weight scale (integers for
    IMB's power-of-two scales);
  - quantization error: ``||W_t - s sign(W_t)||^2 / ||W_t||^2``, where ``W_t``
    is what the method binarizes (IMB-standardized weights, or raw W) and ``s``
    its scale (``quant_error``). It measures the method's own approximation,
    so a scale-free method (bnn) on small latent weights shows a large error.
    ``quant_error_opt`` uses the L2-optimal per-channel scale ``mean |W_t|``
    instead, ``1 - mean(|W_t|)^2 / mean(W_t^2)`` per filter, averaged: it
    depends only on the shape of the distribution (1 - 2/pi = 0.363 for a
    Gaussian) and compares methods whose scale is folded into BatchNorm.
Backward pass (information retained by the gradients):
  - updating capability: the fraction of latent values where the gradient
    estimator's derivative is non-zero, and where it exceeds 0.1, for weights
    (at ``W_t``) and activations (at the quantizer's input on the batch, divided
    by DTE's running spread when the estimator is distribution-sensitive);
  - mean gradient magnitude: mean ``|dL/dW|`` of each latent weight for a
    cross-entropy loss on the batch (labels given, or the model's own
    predictions when there are none).

The batch statistics are taken, by default (``mode="train"``), as a training
step sees them: on a deep copy of the model in train mode, so BatchNorm and
DTE normalise with the batch's own statistics while the model's running
statistics stay untouched. ``mode="eval"`` uses the running statistics instead
(what deployment computes; meaningless on a freshly initialised model, whose
BatchNorm has not yet seen data, and where the gradients then explode through
the un-normalised binary convolutions). Gradients are taken with
``torch.autograd.grad``, so no ``.grad`` field changes either.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dirnet.analysis._layers import binary_layers, require_binary_layers
from dirnet.analysis.entropy import layer_weight_entropy, sign_entropy
from dirnet.parts.sign import sign_pm1

#: Threshold of the "above" updating-capability fraction (the issue's 0.1).
UPDATE_THRESHOLD = 0.1


@torch.no_grad()
def scale_exponents(model: nn.Module) -> dict[str, Tensor]:
    """``{layer: log2(scale) per output channel}``; integer-valued for IMB."""
    return {name: torch.log2(m.binary_weight()[1].double()) for name, m in binary_layers(model)}


@torch.no_grad()
def quantization_error(model: nn.Module, optimal_scale: bool = False) -> dict[str, float]:
    """``{layer: relative binarization error}`` with the method's scale, or the L2-optimal one."""
    out = {}
    for name, m in binary_layers(model):
        w_t, scale = m.weight_quantizer.transform(m.weight)
        w = w_t.double().reshape(w_t.shape[0], -1)
        if optimal_scale:
            ms = w.pow(2).mean(dim=1)
            err = 1.0 - w.abs().mean(dim=1).pow(2) / ms
            err = err[ms > 0]
            out[name] = float(err.mean()) if err.numel() else math.nan
            continue
        q = sign_pm1(w) * scale.double().view(-1, 1)
        den = float(w.pow(2).sum())
        out[name] = float((w - q).pow(2).sum()) / den if den > 0 else math.nan
    return out


@torch.no_grad()
def weight_updating_capability(model: nn.Module, threshold: float = UPDATE_THRESHOLD
                               ) -> dict[str, tuple[float, float]]:
    """``{layer: (fraction with derivative > 0, fraction with derivative > threshold)}``."""
    out = {}
    for name, m in binary_layers(model):
        w_t, _ = m.weight_quantizer.transform(m.weight)
        d = m.weight_quantizer.estimator.derivative(w_t.detach().float())
        out[name] = (float((d > 0).double().mean()), float((d > threshold).double().mean()))
    return out


def _prepare_batch(model: nn.Module, batch: Tensor) -> Tensor:
    if not isinstance(batch, Tensor) or not batch.is_floating_point():
        raise TypeError("batch must be a floating-point tensor (normalised images, NCHW), got "
                        f"{type(batch).__name__ if not isinstance(batch, Tensor) else batch.dtype}")
    p = next((p for p in model.parameters() if p.is_floating_point()), None)
    return batch.to(p.device, p.dtype) if p is not None else batch


def activation_and_gradient_stats(model: nn.Module, batch: Tensor, labels: Tensor | None = None,
                                  threshold: float = UPDATE_THRESHOLD, mode: str = "train"
                                  ) -> dict[str, dict[str, float]]:
    """One forward/backward pass on ``batch``; per binary layer:

    ``act_pos_fraction``, ``act_entropy``, ``act_update_nonzero``, ``act_update_above``,
    ``grad_mean_abs`` (see the module docstring for ``mode``).
    """
    if mode not in ("train", "eval"):
        raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
    require_binary_layers(model)
    if mode == "train":
        model = copy.deepcopy(model)
    layers = binary_layers(model)
    x = _prepare_batch(model, batch)
    if mode == "train" and x.shape[0] < 2:
        raise ValueError("train-mode statistics need a batch of at least 2 examples "
                         "(BatchNorm normalises over the batch); pass more or mode='eval'")
    stats: dict[str, dict[str, float]] = {name: {} for name, _ in layers}
    handles = []

    def make_hooks(name: str, q: nn.Module):
        def pre(_mod, args):
            with torch.no_grad():
                a = args[0].detach()
                if q.shift is not None:
                    a = q.shift(a)
                a = a.float()
                if getattr(q, "running_sigma", None) is not None:
                    shape = [1] * a.dim()
                    shape[q.channel_dim] = -1
                    if mode == "train":  # the batch's spread, as the quantizer uses in training
                        dims = [k for k in range(a.dim()) if k != q.channel_dim % a.dim()]
                        sigma = a.std(dim=dims)
                    else:
                        sigma = q.running_sigma.float()
                    inv = sigma.clamp_min(1e-3).reciprocal().view(shape)
                    d = q.estimator.derivative(a * inv) * inv
                else:
                    d = q.estimator.derivative(a)
                st = stats[name]
                st["act_update_nonzero"] = float((d > 0).double().mean())
                st["act_update_above"] = float((d > threshold).double().mean())

        def post(_mod, _args, out):
            with torch.no_grad():
                st = stats[name]
                st["act_pos_fraction"] = float((out > 0).double().mean())
                st["act_entropy"] = float(sign_entropy(out.detach(), q.channel_dim).mean())
        return pre, post

    for name, m in layers:
        pre, post = make_hooks(name, m.input_quantizer)
        handles.append(m.input_quantizer.register_forward_pre_hook(pre))
        handles.append(m.input_quantizer.register_forward_hook(post))
    flags = {id(m): m.training for m in model.modules()}
    try:
        model.train(mode == "train")
        with torch.enable_grad():
            logits = model(x)
            if not isinstance(logits, Tensor) or logits.dim() != 2:
                raise ValueError("gradient statistics need a classifier whose output is "
                                 f"(batch, classes); got {getattr(logits, 'shape', type(logits))}")
            target = logits.detach().argmax(1) if labels is None else labels.to(logits.device).long()
            loss = F.cross_entropy(logits, target)
            weights = [m.weight for _, m in layers]
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            m.training = flags[id(m)]
    for (name, _), g in zip(layers, grads):
        stats[name]["grad_mean_abs"] = float(g.abs().mean()) if g is not None else 0.0
    return stats


@dataclass
class Diagnostics:
    """Per-layer diagnostics (``rows``, one dict per binary layer) plus a note on the batch."""

    rows: list[dict[str, Any]]
    batch_note: str = ""

    def column(self, key: str) -> dict[str, Any]:
        """``{layer name: row[key]}``, e.g. ``column("weight_entropy")``."""
        return {r["name"]: r.get(key) for r in self.rows}

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch_note, "layers": self.rows}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return format_diagnostics(self)


_COLUMNS = (  # (row key, header, format)
    ("name", "layer", "{}"),
    ("method", "method", "{}"),
    ("weight_entropy", "W entropy", "{:.4f}"),
    ("act_pos_fraction", "A +1 frac", "{:.3f}"),
    ("act_entropy", "A entropy", "{:.4f}"),
    ("scale_exp", "log2 scale", "{}"),
    ("quant_error", "Q err", "{:.4g}"),
    ("quant_error_opt", "Q err*", "{:.4f}"),
    ("w_update_nonzero", "W upd>0", "{:.3f}"),
    ("w_update_above", "W upd>.1", "{:.3f}"),
    ("act_update_nonzero", "A upd>0", "{:.3f}"),
    ("act_update_above", "A upd>.1", "{:.3f}"),
    ("grad_mean_abs", "mean|dW|", "{:.3e}"),
)


def format_diagnostics(d: Diagnostics) -> str:
    """A fixed-width table of the rows (columns missing from every row are left out)."""
    cols = [c for c in _COLUMNS if any(c[0] in r for r in d.rows)]
    table = [[h for _, h, _ in cols]]
    for r in d.rows:
        cells = []
        for key, _, fmt in cols:
            v = r.get(key)
            if key == "scale_exp" and v is not None:
                lo, hi = r["scale_exp_min"], r["scale_exp_max"]
                v = f"{lo:.3g}" if lo == hi else f"{lo:.3g}..{hi:.3g}"
                cells.append(v)
                continue
            cells.append("-" if v is None else fmt.format(v))
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                       for j, (c, w) in enumerate(zip(row, widths))) for row in table]
    lines.insert(1, "-" * len(lines[0]))
    if d.batch_note:
        lines.append(f"activation/gradient statistics: {d.batch_note}")
    return "\n".join(lines)


def diagnose(model: nn.Module, batch: Tensor | None = None, labels: Tensor | None = None,
             *, batch_note: str = "", threshold: float = UPDATE_THRESHOLD,
             mode: str = "train") -> Diagnostics:
    """All diagnostics for every binary layer of ``model``.

    Without ``batch`` only the weight-side diagnostics are computed (entropy,
    scale exponents, quantization error, weight updating capability). ``mode``
    says whether batch statistics are taken as in training (default, on a copy)
    or with the running statistics (``"eval"``).
    """
    layers = require_binary_layers(model)
    scales = scale_exponents(model)
    qerr = quantization_error(model)
    qerr_opt = quantization_error(model, optimal_scale=True)
    wupd = weight_updating_capability(model, threshold)
    act = (activation_and_gradient_stats(model, batch, labels, threshold, mode)
           if batch is not None else {})
    rows = []
    for name, m in layers:
        exps = scales[name]
        finite = exps[torch.isfinite(exps)]
        row: dict[str, Any] = {
            "name": name,
            "kind": type(m).__name__,
            "method": m.method,
            "weight_entropy": float(layer_weight_entropy(m).mean()),
            "scale_exp_min": float(finite.min()) if finite.numel() else math.nan,
            "scale_exp_max": float(finite.max()) if finite.numel() else math.nan,
            "scale_power_of_two": bool(torch.all(exps == exps.round())),
            "scale_exp": [float(e) for e in exps],
            "quant_error": qerr[name],
            "quant_error_opt": qerr_opt[name],
            "w_update_nonzero": wupd[name][0],
            "w_update_above": wupd[name][1],
        }
        row.update(act.get(name, {}))
        rows.append(row)
    if batch is None and not batch_note:
        batch_note = "no batch given: activation and gradient statistics skipped"
    elif batch is not None:
        batch_note = (batch_note + "; " if batch_note else "") + f"{mode} mode"
    return Diagnostics(rows=rows, batch_note=batch_note)
