"""Derive independent, reproducible RNG seeds from a tuple of integers/strings.

The loader and the held-out split seed a fresh ``torch.Generator`` from
(seed, purpose, epoch, rank, batch, ...) instead of advancing one global stream,
so any epoch or batch can be reproduced without replaying the ones before it.
"""
from __future__ import annotations

import hashlib

import torch

__all__ = ["derive_seed", "generator"]


def derive_seed(*parts: int | str) -> int:
    """Hash ``parts`` to a 63-bit seed (stable across processes and platforms)."""
    for p in parts:
        if not isinstance(p, (int, str)) or isinstance(p, bool):
            raise TypeError(f"seed parts must be int or str, got {type(p).__name__}")
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def generator(*parts: int | str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`derive_seed` of ``parts``."""
    g = torch.Generator()
    g.manual_seed(derive_seed(*parts))
    return g
