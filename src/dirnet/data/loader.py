"""BatchLoader: deterministic, shardable, batch-augmented loading in the main thread.

Why no worker processes: on a 2-core machine the model should get both cores;
gathering and augmenting a uint8 batch with tensor ops costs a few percent of a
ResNet-20 step, so a plain synchronous loop is enough and stays deterministic.

Determinism contract: the sample order of epoch e depends only on (seed, e)
(same on every rank), and the augmentation of batch b on rank r only on
(seed, e, r, b). Nothing depends on how many epochs or batches were iterated
before, so a resumed run reproduces the exact batches of an uninterrupted one
(also mid-epoch, via :meth:`BatchLoader.iter_from`).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from .augment import check_augment, normalize
from .seeding import generator

__all__ = ["BatchLoader", "shard_indices"]


def shard_indices(order: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """DistributedSampler-style shard: pad ``order`` by repeating it from the start
    up to a multiple of ``world_size``, then take every world_size-th element from ``rank``."""
    n = int(order.numel())
    total = math.ceil(n / world_size) * world_size
    if total > n:
        reps = math.ceil((total - n) / n)
        order = torch.cat([order, order.repeat(reps)[: total - n]])
    return order[rank:total:world_size]


class BatchLoader:
    """Iterate ``(float32 normalised NCHW images, int64 labels)`` batches of a data set.

    ``dataset`` needs ``labels`` (int64 tensor), ``__len__`` and
    ``load_batch(indices, augment, generator) -> uint8 (B, C, H, W)``, as
    :class:`~dirnet.data.datasets.TensorImageDataset` and
    :class:`~dirnet.data.imagefolder.ImageFolderDataset` have. ``train`` turns
    shuffling on; ``augment`` is applied as given (pass None for evaluation).
    Call :meth:`set_epoch` before each epoch, as with DistributedSampler.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        *,
        train: bool,
        augment: str | None,
        seed: int,
        mean: Sequence[float],
        std: Sequence[float],
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
    ) -> None:
        if not hasattr(dataset, "load_batch") or not hasattr(dataset, "labels"):
            raise TypeError("dataset must provide labels and load_batch(indices, augment, "
                            f"generator); got {type(dataset).__name__}")
        if len(dataset) == 0:
            raise ValueError("dataset is empty")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
            raise ValueError(f"world_size must be a positive int, got {world_size!r}")
        if not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, {world_size}), got {rank!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        allowed = getattr(dataset, "supported_augments", (None,))
        self.augment = check_augment(augment, allowed, type(dataset).__name__)
        channels = getattr(dataset, "in_channels", len(mean))
        if len(mean) != channels or len(std) != channels:
            raise ValueError(f"mean/std need {channels} values (one per channel), "
                             f"got {len(mean)}/{len(std)}")
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive, got {list(std)}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.train = bool(train)
        self.seed = seed
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.rank = rank
        self.world_size = world_size
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentation the next iteration produces."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = epoch

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (padded so every rank sees the same count)."""
        return math.ceil(len(self.dataset) / self.world_size)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def indices(self) -> torch.Tensor:
        """This rank's sample indices for the current epoch, in iteration order."""
        n = len(self.dataset)
        if self.train:
            order = torch.randperm(n, generator=generator(self.seed, "order", self.epoch))
        else:
            order = torch.arange(n)
        return shard_indices(order, self.rank, self.world_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iter_from(0)

    def iter_from(self, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``start_batch, ..., len(self) - 1`` of the current epoch."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start_batch must lie in [0, {len(self)}], got {start_batch}")
        idx = self.indices()
        epoch = self.epoch
        for b in range(start_batch, len(self)):
            sel = idx[b * self.batch_size: (b + 1) * self.batch_size]
            g = generator(self.seed, "augment", epoch, self.rank, b)
            images = self.dataset.load_batch(sel, self.augment, g)
            yield normalize(images, self.mean, self.std), self.dataset.labels[sel]
