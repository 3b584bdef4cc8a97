"""Weight-sign flip ratio: the fraction of binary weights whose sign changed.

A high flip ratio late in training means the binary network is still
oscillating; IMB's balancing and DTE's schedule both change it. The trainer
keeps a :class:`SignFlipTracker` and records the per-epoch ratio in
``metrics.jsonl`` (keys ``flip`` = {layer: ratio} and ``flip_ratio``, their
unweighted mean: each layer counts once); the functions serve tests,
``dirnet.analysis`` and users who snapshot signs themselves.

The signs are taken as the layer's method binarizes them (after IMB's
balancing, for instance), with sign(0) = +1, so these are flip ratios of the
binary weights. Both training and analysis use this module, which imports
neither of them.

Precision: a layer's ratio is the mean of its flip mask in ``dtype``. The
functions default to float64; the tracker uses float32, the precision the
trainer has always logged, so metrics.jsonl stays comparable across versions.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from dirnet.nn import BINARY_LAYERS


@torch.no_grad()
def weight_signs(model: nn.Module) -> dict[str, Tensor]:
    """``{layer name: int8 ±1 tensor}`` of every binary layer's binarized weight signs."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    return {name: m.binary_weight()[0].to(torch.int8).cpu()
            for name, m in model.named_modules() if isinstance(m, BINARY_LAYERS)}


def _one(prev: Tensor, cur: Tensor, name: str = "", dtype: torch.dtype = torch.float64) -> float:
    if not isinstance(prev, Tensor) or not isinstance(cur, Tensor):
        raise TypeError(f"flip_ratio needs tensors of signs, got {type(prev).__name__} and "
                        f"{type(cur).__name__}")
    if prev.shape != cur.shape:
        where = f" for layer {name!r}" if name else ""
        raise ValueError(f"sign tensors differ in shape{where}: {tuple(prev.shape)} vs "
                         f"{tuple(cur.shape)}")
    if prev.numel() == 0:
        return 0.0
    return float(((prev >= 0) != (cur >= 0)).to(dtype).mean())


def flip_ratios(prev: Mapping[str, Tensor], cur: Mapping[str, Tensor], *,
                dtype: torch.dtype = torch.float64) -> dict[str, float]:
    """Per-layer flip ratio between two :func:`weight_signs` snapshots (same layer names).

    The layers come in ``cur``'s order; each ratio is a mean computed in ``dtype``.
    """
    if set(prev) != set(cur):
        raise ValueError(f"snapshots hold different layers: only in the first "
                         f"{sorted(set(prev) - set(cur))}, only in the second "
                         f"{sorted(set(cur) - set(prev))}")
    return {k: _one(prev[k], cur[k], k, dtype) for k in cur}


def flip_ratio(prev_signs: Tensor | Mapping[str, Tensor],
               signs: Tensor | Mapping[str, Tensor]) -> float:
    """Fraction of signs that differ (sign(0) = +1).

    Two tensors: over all their elements. Two snapshots (dicts from
    :func:`weight_signs`): the unweighted mean of the per-layer ratios.
    """
    if isinstance(prev_signs, Mapping) and isinstance(signs, Mapping):
        per_layer = flip_ratios(prev_signs, signs)
        return sum(per_layer.values()) / len(per_layer) if per_layer else 0.0
    return _one(prev_signs, signs)  # type: ignore[arg-type]


class SignFlipTracker:
    """Remembers each binary layer's weight signs; ``update()`` returns the fraction flipped.

    ``update()`` gives ``{layer: ratio}`` since the previous call (or since
    construction), in float32 precision (see the module docstring), and
    remembers the current signs for the next call.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.signs = weight_signs(model)

    def update(self) -> dict[str, float]:
        now = weight_signs(self.model)
        out = flip_ratios(self.signs, now, dtype=torch.float32)
        self.signs = now
        return out
