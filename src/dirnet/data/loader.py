"""BatchLoader: deterministic, shardable, batch-augmented loading, in-process or in workers.

Determinism contract: the sample order of epoch e depends only on (seed, e)
(same on every rank), and the augmentation of batch b on rank r only on
(seed, e, r, b). Nothing depends on how many epochs or batches were iterated
before, so a resumed run reproduces the exact batches of an uninterrupted one
(also mid-epoch, via :meth:`BatchLoader.iter_from`).

Workers: with ``workers=0`` batches are made in the calling thread (on a
CPU-only machine the model should get the cores; an in-memory set's batched
uint8 augmentation costs a few percent of a step). With ``workers=W`` each
batch is made whole by one of W workers, ``prefetch`` batches ahead per
worker, and handed back in order: the same function makes batch b from the
same (seed, e, rank, b) either way, so the batches are bit-identical for any
W and a run may resume with another worker count. Decoding JPEGs (image
folders) is what workers are for.

``worker_kind="threads"`` (default): a thread pool in this process. Pillow
decodes and resizes and torch augments with the GIL released, so threads
scale on the cores (measured: 2 threads decode 1.84x as fast as one on 2
cores) without forking, pickling or copying batches between processes.
``"processes"``: torch's DataLoader with W processes (one intra-op thread
each; batches written straight into shared memory), for augmentation that
holds the GIL (pure-Python transforms).
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
import torch.utils.data

from .augment import check_augment, normalize
from .seeding import generator

__all__ = ["WORKER_KINDS", "BatchLoader", "shard_indices"]

WORKER_KINDS = ("threads", "processes")


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
        workers: int = 0,
        prefetch: int = 2,
        pin_memory: bool = False,
        worker_kind: str = "threads",
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
        for name, value, low in (("workers", workers, 0), ("prefetch", prefetch, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if worker_kind not in WORKER_KINDS:
            raise ValueError(f"worker_kind must be one of {WORKER_KINDS}, got {worker_kind!r}")
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
        self.workers = workers
        self.prefetch = prefetch
        self.pin_memory = bool(pin_memory)
        self.worker_kind = worker_kind
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
        jobs = _BatchJobs(self, self.indices(), self.epoch, start_batch)
        if self.workers == 0:
            for k in range(len(jobs)):
                images, labels = jobs.make(k)
                yield normalize(images, self.mean, self.std), labels
            return
        if len(jobs) == 0:
            return
        if self.worker_kind == "threads":
            yield from _threaded(jobs, self.workers, self.workers * self.prefetch, self.pin_memory)
            return
        parallel = torch.utils.data.DataLoader(
            jobs, batch_size=None, shuffle=False, num_workers=self.workers,
            prefetch_factor=self.prefetch, pin_memory=self.pin_memory)
        for outcome in parallel:
            if isinstance(outcome, _Failed):
                raise outcome.error  # the worker's own exception, not a wrapped traceback
            yield outcome

    def make_batch(self, indices: torch.Tensor, epoch: int, batch: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images and labels of batch ``batch`` of ``epoch`` from this rank's
        ``indices``: the one place batches are made, in-process or in a worker."""
        sel = indices[batch * self.batch_size: (batch + 1) * self.batch_size]
        g = generator(self.seed, "augment", epoch, self.rank, batch)
        return self.dataset.load_batch(sel, self.augment, g), self.dataset.labels[sel]


def _threaded(jobs: _BatchJobs, workers: int, window: int, pin: bool
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches made by a pool of ``workers`` threads, at most ``window`` ahead, in order."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="dirnet-loader")
    pending: deque = deque()
    submitted = 0
    try:
        while pending or submitted < len(jobs):
            while submitted < len(jobs) and len(pending) < window:
                pending.append(pool.submit(jobs.make_normalized, submitted))
                submitted += 1
            x, y = pending.popleft().result()  # a worker's exception is raised here as itself
            yield (x.pin_memory(), y.pin_memory()) if pin else (x, y)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an early stop leaves no thread behind


class _Failed:
    """An exception raised in a worker, carried back whole (re-raised in the main process)."""

    def __init__(self, error: BaseException):
        self.error = error


class _BatchJobs(torch.utils.data.Dataset):
    """Batches ``start, ..., len(loader) - 1`` of one epoch as items (one per worker task)."""

    def __init__(self, loader: BatchLoader, indices: torch.Tensor, epoch: int, start: int):
        self.loader, self.indices, self.epoch, self.start = loader, indices, epoch, start

    def __len__(self) -> int:
        return len(self.loader) - self.start

    def make(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.loader.make_batch(self.indices, self.epoch, self.start + k)

    def make_normalized(self, k: int, out: torch.Tensor | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.make(k)
        return normalize(images, self.loader.mean, self.loader.std, out=out), labels

    def __getitem__(self, k: int):
        """In a worker: the normalised batch, written straight into shared memory (the
        main process maps it; a tensor made elsewhere would be copied there)."""
        try:
            images, labels = self.make(k)
            out = torch.empty(images.shape, dtype=torch.float32).share_memory_()
            return normalize(images, self.loader.mean, self.loader.std, out=out), labels
        except Exception as e:  # noqa: BLE001 - handed to the main process to raise there
            return _Failed(e)
