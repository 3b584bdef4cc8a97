"""Weight-sign flip ratio: the fraction of binary weights whose sign changed.

A high flip ratio late in training means the binary network is still
oscillating; IMB's balancing and DTE's schedule both change it. The trainer
records the per-epoch ratio in ``metrics.jsonl`` (keys ``flip_ratio`` and
``flip``); these pure functions exist for tests and for users who snapshot
signs themselves. The mean over layers is unweighted (each layer counts once),
the same convention as the trainer's ``flip_ratio``.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from dirnet.analysis._layers import binary_layers


@torch.no_grad()
def weight_signs(model: nn.Module) -> dict[str, Tensor]:
    """``{layer name: int8 ±1 tensor}`` of every binary layer's binarized weight signs."""
    return {name: m.binary_weight()[0].to(torch.int8).cpu() for name, m in binary_layers(model)}


def _one(prev: Tensor, cur: Tensor, name: str = "") -> float:
    if not isinstance(prev, Tensor) or not isinstance(cur, Tensor):
        raise TypeError(f"flip_ratio needs tensors of signs, got {type(prev).__name__} and "
                        f"{type(cur).__name__}")
    if prev.shape != cur.shape:
        where = f" for layer {name!r}" if name else ""
        raise ValueError(f"sign tensors differ in shape{where}: {tuple(prev.shape)} vs "
                         f"{tuple(cur.shape)}")
    if prev.numel() == 0:
        return 0.0
    return float(((prev >= 0) != (cur >= 0)).double().mean())


def flip_ratios(prev: Mapping[str, Tensor], cur: Mapping[str, Tensor]) -> dict[str, float]:
    """Per-layer flip ratio between two :func:`weight_signs` snapshots (same layer names)."""
    if set(prev) != set(cur):
        raise ValueError(f"snapshots hold different layers: only in the first "
                         f"{sorted(set(prev) - set(cur))}, only in the second "
                         f"{sorted(set(cur) - set(prev))}")
    return {k: _one(prev[k], cur[k], k) for k in cur}


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
