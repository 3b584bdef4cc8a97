"""BatchLoader: deterministic, shardable, batch-augmented loading, in-process or in workers.

Determinism contract (:class:`~dirnet.data.batching.EpochBatches`): the
sample order of epoch e depends only on (seed, e) (same on every rank), and
the augmentation of batch b on rank r only on (seed, e, r, b). Nothing
depends on how many epochs or batches were iterated before, so a resumed run
reproduces the exact batches of an uninterrupted one (also mid-epoch, via
:meth:`BatchLoader.iter_from`).

Workers (:func:`~dirnet.data.batching.make_in_order`): with ``workers=0``
batches are made in the calling thread (on a CPU-only machine the model
should get the cores; an in-memory set's batched uint8 augmentation costs a
few percent of a step). With ``workers=W`` each batch is made whole by one of
W threads (``worker_kind="threads"``, the default: Pillow decodes and torch
augments with the GIL released) or processes (``"processes"``: torch's
DataLoader, the batch written straight into shared memory), ``prefetch``
batches ahead per worker, handed back in order. The same function makes
batch b from (seed, e, rank, b) either way, so the batches are bit-identical
for any W and a run may resume with another worker count.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch

from .augment import check_augment, normalize
from .batching import (
    WORKER_KINDS,
    EpochBatches,
    EpochLoader,
    check_workers,
    in_worker_process,
    shard_indices,
)
from .seeding import generator

__all__ = ["WORKER_KINDS", "BatchLoader", "shard_indices"]


class BatchLoader(EpochLoader):
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
        workers: int = 0,
        prefetch: int = 2,
        pin_memory: bool = False,
        worker_kind: str = "threads",
    ) -> None:
        if not hasattr(dataset, "load_batch") or not hasattr(dataset, "labels"):
            raise TypeError("dataset must provide labels and load_batch(indices, augment, "
                            f"generator); got {type(dataset).__name__}")
        self.batches = EpochBatches(len(dataset), batch_size, train=train, seed=seed, rank=rank,
                                    world_size=world_size, drop_last=drop_last)
        check_workers(workers, prefetch, worker_kind)
        allowed = getattr(dataset, "supported_augments", (None,))
        self.augment = check_augment(augment, allowed, type(dataset).__name__)
        channels = getattr(dataset, "in_channels", len(mean))
        if len(mean) != channels or len(std) != channels:
            raise ValueError(f"mean/std need {channels} values (one per channel), "
                             f"got {len(mean)}/{len(std)}")
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive, got {list(std)}")
        self.dataset = dataset
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.workers, self.prefetch, self.worker_kind = workers, prefetch, worker_kind
        self.pin_memory = bool(pin_memory)

    def _maker(self, indices: torch.Tensor, epoch: int):
        return functools.partial(self._normalized, indices, epoch)

    def make_batch(self, indices: torch.Tensor, epoch: int, batch: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images and labels of batch ``batch`` of ``epoch`` from this rank's
        ``indices``: the one place batches are made, in-process or in a worker."""
        sel = indices[batch * self.batch_size: (batch + 1) * self.batch_size]
        g = generator(self.seed, "augment", epoch, self.rank, batch)
        return self.dataset.load_batch(sel, self.augment, g), self.dataset.labels[sel]

    def _normalized(self, indices: torch.Tensor, epoch: int, batch: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.make_batch(indices, epoch, batch)
        out = None
        if in_worker_process():  # write it where the main process maps it: no copy there
            out = torch.empty(images.shape, dtype=torch.float32).share_memory_()
        return normalize(images, self.mean, self.std, out=out), labels
