"""Fixed, stratified held-out split of a training set."""
from __future__ import annotations

import torch

from .seeding import generator

__all__ = ["holdout_split"]


def holdout_split(
    labels: torch.Tensor, val_size: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_idx, val_idx), sorted and disjoint, with val stratified by class.

    ``val_size`` is a count (int) or a fraction in (0, 1). Each class gives
    floor(val_size * n_c / N) samples, the leftover ones go to the classes with
    the largest remainders (ties: lower class index); which samples of a class
    are held out is a random choice fixed by ``seed`` alone, so the same seed
    gives the same validation set in every run and on every rank.
    """
    labels = torch.as_tensor(labels, dtype=torch.int64)
    n = int(labels.numel())
    if isinstance(val_size, bool) or not isinstance(val_size, (int, float)):
        raise TypeError(f"val_size must be an int count or a float fraction, got {val_size!r}")
    if isinstance(val_size, float):
        if not 0.0 <= val_size < 1.0:
            raise ValueError(f"a fractional val_size must lie in [0, 1), got {val_size}")
        val_size = round(val_size * n)
    if not 0 <= val_size < n:
        raise ValueError(f"val_size must lie in [0, {n}) for a training set of {n}, got {val_size}")
    if val_size == 0:
        return torch.arange(n), torch.empty(0, dtype=torch.int64)
    classes, counts = torch.unique(labels, return_counts=True)
    exact = counts.to(torch.float64) * val_size / n
    take = exact.floor().to(torch.int64)
    short = val_size - int(take.sum())
    if short:
        rem = exact - take
        order = sorted(range(len(classes)), key=lambda i: (-float(rem[i]), i))
        for i in order[:short]:
            take[i] += 1
    g = generator(seed, "holdout-split")
    picked = []
    for c, k in zip(classes.tolist(), take.tolist()):
        members = torch.nonzero(labels == c).flatten()
        picked.append(members[torch.randperm(len(members), generator=g)[:k]])
    val_idx = torch.sort(torch.cat(picked)).values
    mask = torch.ones(n, dtype=torch.bool)
    mask[val_idx] = False
    return torch.nonzero(mask).flatten(), val_idx
