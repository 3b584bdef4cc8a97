"""Batch augmentation and normalisation on uint8 NCHW tensors.

Everything here works on a whole batch with tensor ops (one gather for crop +
flip), because a per-image Python loop would cost more CPU than the binary
network it feeds. Randomness comes only from the ``torch.Generator`` passed in,
drawn in a fixed order, so a batch is a pure function of (images, generator seed).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["IN_MEMORY_AUGMENTS", "apply", "check_augment", "crop_flip", "flip", "normalize"]

#: augmentations available for in-memory (uint8 tensor) data sets
IN_MEMORY_AUGMENTS: tuple[str | None, ...] = (None, "flip", "crop_flip")


def check_augment(augment: str | None, allowed: Sequence[str | None], where: str) -> str | None:
    """Normalise ``augment`` ("none" -> None) and check it is one of ``allowed``."""
    if isinstance(augment, str) and augment.lower() in ("none", ""):
        augment = None
    if augment is not None and not isinstance(augment, str):
        raise TypeError(f"augment must be a string or None, got {type(augment).__name__}")
    if augment not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"augment={augment!r} is not supported for {where}; choose one of {names}")
    return augment


def _check_batch(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        raise TypeError("expected a uint8 tensor of shape (N, C, H, W)")


def flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (one draw per image)."""
    _check_batch(images)
    mask = torch.randint(0, 2, (images.shape[0],), generator=generator, dtype=torch.bool)
    return torch.where(mask[:, None, None, None], images.flip(3), images)


def crop_flip(
    images: torch.Tensor, generator: torch.Generator, padding: int = 4, do_flip: bool = True
) -> torch.Tensor:
    """Random crop of the zero-padded image back to its size, then a random mirror.

    The CIFAR standard (pad 4, crop 32, flip 1/2). Draw order: row offsets,
    column offsets, flip bits, each one value per image; offsets are uniform
    in [0, 2 * padding]. Crop and mirror are one gather from the padded batch.
    """
    _check_batch(images)
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    n, c, h, w = images.shape
    hp, wp = h + 2 * padding, w + 2 * padding
    padded = images.new_zeros((n, c, hp, wp))
    padded[:, :, padding : padding + h, padding : padding + w] = images
    oy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    cols = torch.arange(w).expand(n, w)
    if do_flip:
        mirror = torch.randint(0, 2, (n,), generator=generator, dtype=torch.bool)
        cols = torch.where(mirror[:, None], (w - 1) - cols, cols)
    rows = oy[:, None] + torch.arange(h)  # (n, h)
    cols = ox[:, None] + cols  # (n, w)
    flat = (rows[:, :, None] * wp + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    out = torch.gather(padded.reshape(n, c, hp * wp), 2, flat)
    return out.reshape(n, c, h, w)


def apply(images: torch.Tensor, augment: str | None, generator: torch.Generator) -> torch.Tensor:
    """Apply one of :data:`IN_MEMORY_AUGMENTS` to a uint8 batch."""
    augment = check_augment(augment, IN_MEMORY_AUGMENTS, "in-memory data sets")
    if augment is None:
        return images
    if augment == "flip":
        return flip(images, generator)
    return crop_flip(images, generator)


def normalize(
    images: torch.Tensor, mean: Sequence[float], std: Sequence[float],
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 ``(x / 255 - mean) / std`` per channel.

    ``mean``/``std`` are on the [0, 1] scale (the usual published constants).
    ``out``: a float32 tensor of the same shape to write into (e.g. one in
    shared memory, so a loader worker hands it over without a copy); the
    values are the same either way.
    """
    _check_batch(images)
    c = images.shape[1]
    if len(mean) != c or len(std) != c:
        raise ValueError(f"mean/std need {c} values (one per channel), got {len(mean)}/{len(std)}")
    if any(s <= 0 for s in std):
        raise ValueError(f"std must be positive, got {list(std)}")
    m = torch.tensor(mean, dtype=torch.float32)
    s = torch.tensor(std, dtype=torch.float32)
    scale = (1.0 / (255.0 * s)).view(1, c, 1, 1)
    shift = (-m / s).view(1, c, 1, 1)
    if out is None:
        out = images.to(torch.float32)
    else:
        if out.shape != images.shape or out.dtype != torch.float32:
            raise ValueError(f"out must be float32 of shape {tuple(images.shape)}")
        out.copy_(images)
    return out.mul_(scale).add_(shift)
