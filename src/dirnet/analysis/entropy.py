"""Entropy of binarized weights: how much information 1-bit weights can carry.

A binary filter whose signs are +1 with frequency q carries at most the
Bernoulli entropy ``H(q) = -q log2 q - (1-q) log2 (1-q)`` bits per weight:
1 bit when the signs are balanced, 0 when they are all equal. IMB balances
each filter before the sign to push H toward 1 bit (DIR-Net's "information
maximized" part); plain sign (BNN) does not.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from dirnet.analysis._layers import binary_layers


def bernoulli_entropy(q: Tensor) -> Tensor:
    """``H(q)`` in bits, elementwise, with ``H(0) = H(1) = 0``."""
    q = q.double().clamp(0.0, 1.0)
    h = torch.zeros_like(q)
    inside = (q > 0) & (q < 1)
    qi = q[inside]
    h[inside] = -(qi * torch.log2(qi) + (1 - qi) * torch.log2(1 - qi))
    return h


def sign_entropy(signs: Tensor, channel_dim: int = 0) -> Tensor:
    """Per-channel Bernoulli entropy (bits) of a ±1 tensor; ``channel_dim`` indexes filters."""
    if signs.dim() == 0:
        raise ValueError("sign_entropy needs at least a 1-d tensor of ±1 values")
    per_channel = signs.movedim(channel_dim, 0).reshape(signs.shape[channel_dim], -1)
    return bernoulli_entropy((per_channel > 0).double().mean(dim=1))


@torch.no_grad()
def layer_weight_entropy(layer: nn.Module) -> Tensor:
    """Per-filter entropy (bits) of ``layer``'s binarized weights, as its method binarizes them."""
    signs, _ = layer.binary_weight()
    return sign_entropy(signs, 0)


def weight_entropy(model: nn.Module) -> dict[str, float]:
    """``{layer name: mean per-filter entropy in bits}`` for the binary layers, in module order.

    The signs are those the layer's own method produces (``layer.binary_weight()``:
    IMB-standardized weights for irnet/dirnet, the raw latent weight for bnn,
    xnor, bireal, reactnet). A model without binary layers gives ``{}``.
    """
    return {name: float(layer_weight_entropy(m).mean()) for name, m in binary_layers(model)}


def format_entropy_table(entropies: dict[str, dict[str, float]]) -> str:
    """Side-by-side table ``layer | run1 | run2 ...`` of per-layer entropies (bits), plus the mean."""
    layers: list[str] = []
    for values in entropies.values():
        layers += [k for k in values if k not in layers]
    labels = list(entropies)
    width = max([len("layer"), len("mean")] + [len(k) for k in layers])
    cols = [max(len(lab), 6) for lab in labels]
    lines = ["  ".join(["layer".ljust(width)] + [lab.rjust(c) for lab, c in zip(labels, cols)])]
    lines.append("-" * len(lines[0]))
    for k in layers:
        cells = [f"{entropies[lab][k]:.4f}" if k in entropies[lab] else "-" for lab in labels]
        lines.append("  ".join([k.ljust(width)] + [v.rjust(c) for v, c in zip(cells, cols)]))
    means = [sum(v.values()) / len(v) if v else float("nan") for v in entropies.values()]
    lines.append("-" * len(lines[0]))
    lines.append("  ".join(["mean".ljust(width)] + [f"{m:.4f}".rjust(c) for m, c in zip(means, cols)]))
    return "\n".join(lines)
