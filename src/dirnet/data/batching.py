"""What every loader shares: which samples an epoch's batches hold, and who makes them.

:class:`EpochBatches` fixes the determinism contract: the sample order of
epoch e depends only on (seed, e) (the same on every rank), each rank takes
its DistributedSampler-style shard, and batch b is the b-th slice of it, so
a loader can start at any batch of any epoch without replaying the ones before.

:func:`make_in_order` runs a loader's ``make(b)`` for batches in order: in the
calling thread, or in ``workers`` threads (Pillow and torch release the GIL,
so threads scale without copying batches between processes) or processes
(torch's DataLoader, for GIL-bound work), ``prefetch`` batches ahead per
worker. A worker's exception is raised in the caller as itself.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
import torch.utils.data

from .seeding import generator

__all__ = ["WORKER_KINDS", "EpochBatches", "EpochLoader", "check_workers", "make_in_order",
           "shard_indices"]

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


def check_workers(workers: int, prefetch: int, worker_kind: str) -> None:
    for name, value, low in (("workers", workers, 0), ("prefetch", prefetch, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if worker_kind not in WORKER_KINDS:
        raise ValueError(f"worker_kind must be one of {WORKER_KINDS}, got {worker_kind!r}")


class EpochBatches:
    """The batches of an epoch: ``len`` of them per rank, batch b = ``indices()[b*bs:(b+1)*bs]``."""

    def __init__(self, size: int, batch_size: int, *, train: bool, seed: int, rank: int = 0,
                 world_size: int = 1, drop_last: bool = False) -> None:
        if size == 0:
            raise ValueError("dataset is empty")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
            raise ValueError(f"world_size must be a positive int, got {world_size!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, {world_size}), got {rank!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.size, self.batch_size, self.train, self.seed = size, batch_size, bool(train), seed
        self.rank, self.world_size, self.drop_last = rank, world_size, bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentation the next iteration produces."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = epoch

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (padded so every rank sees the same count)."""
        return math.ceil(self.size / self.world_size)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def indices(self) -> torch.Tensor:
        """This rank's sample indices for the current epoch, in iteration order."""
        if self.train:
            order = torch.randperm(self.size, generator=generator(self.seed, "order", self.epoch))
        else:
            order = torch.arange(self.size)
        return shard_indices(order, self.rank, self.world_size)

    def check_start(self, start_batch: int) -> None:
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start_batch must lie in [0, {len(self)}], got {start_batch}")


class EpochLoader:
    """Base of the loaders: the epoch's batches (``self.batches``) made by ``self._maker``.

    A subclass sets ``batches`` (an :class:`EpochBatches`), ``workers``,
    ``prefetch``, ``worker_kind`` and ``pin_memory``, and defines
    ``_maker(indices, epoch) -> make(batch)``, the one place its batches are made.
    """

    batches: EpochBatches
    workers: int
    prefetch: int
    worker_kind: str
    pin_memory: bool

    batch_size = property(lambda self: self.batches.batch_size)
    train = property(lambda self: self.batches.train)
    seed = property(lambda self: self.batches.seed)
    rank = property(lambda self: self.batches.rank)
    world_size = property(lambda self: self.batches.world_size)
    drop_last = property(lambda self: self.batches.drop_last)
    epoch = property(lambda self: self.batches.epoch)
    num_samples = property(lambda self: self.batches.num_samples)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentation the next iteration produces."""
        self.batches.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def indices(self) -> torch.Tensor:
        """This rank's sample indices for the current epoch, in iteration order."""
        return self.batches.indices()

    def __iter__(self) -> Iterator[Any]:
        return self.iter_from(0)

    def iter_from(self, start_batch: int) -> Iterator[Any]:
        """Batches ``start_batch, ..., len(self) - 1`` of the current epoch."""
        self.batches.check_start(start_batch)
        return make_in_order(self._maker(self.indices(), self.epoch), start_batch, len(self),
                             workers=self.workers, prefetch=self.prefetch,
                             worker_kind=self.worker_kind, pin_memory=self.pin_memory)

    def _maker(self, indices: torch.Tensor, epoch: int) -> Callable[[int], Any]:
        raise NotImplementedError


def make_in_order(make: Callable[[int], Any], first: int, end: int, *, workers: int,
                  prefetch: int, worker_kind: str, pin_memory: bool) -> Iterator[Any]:
    """``make(b)`` for b in ``first .. end - 1``, in order, made as ``workers`` says."""
    if workers == 0:
        for b in range(first, end):
            yield make(b)
    elif worker_kind == "threads":
        yield from _threaded(make, first, end, workers, workers * prefetch, pin_memory)
    elif end > first:
        jobs = _Jobs(make, first, end)
        for out in torch.utils.data.DataLoader(jobs, batch_size=None, shuffle=False,
                                               num_workers=workers, prefetch_factor=prefetch,
                                               pin_memory=pin_memory):
            if isinstance(out, _Failed):
                raise out.error  # the worker's own exception, not a wrapped traceback
            yield out


def in_worker_process() -> bool:
    """Whether this code runs in one of torch DataLoader's worker processes."""
    return torch.utils.data.get_worker_info() is not None


def _pin(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.pin_memory()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_pin(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _pin(v) for k, v in obj.items()}
    return obj


def _threaded(make: Callable[[int], Any], first: int, end: int, workers: int, window: int,
              pin: bool) -> Iterator[Any]:
    """Batches made by a pool of ``workers`` threads, at most ``window`` ahead, in order."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="dirnet-loader")
    pending: deque = deque()
    submitted = first
    try:
        while pending or submitted < end:
            while submitted < end and len(pending) < window:
                pending.append(pool.submit(make, submitted))
                submitted += 1
            out = pending.popleft().result()  # a worker's exception is raised here as itself
            yield _pin(out) if pin else out
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an early stop leaves no thread behind


class _Failed:
    """An exception raised in a worker process, carried back whole."""

    def __init__(self, error: BaseException):
        self.error = error


class _Jobs(torch.utils.data.Dataset):
    """Batches ``first .. end - 1`` as items of a Dataset (one per worker-process task)."""

    def __init__(self, make: Callable[[int], Any], first: int, end: int):
        self.make, self.first, self.end = make, first, end

    def __len__(self) -> int:
        return self.end - self.first

    def __getitem__(self, k: int):
        try:
            return self.make(self.first + k)
        except Exception as e:  # noqa: BLE001 - handed to the main process to raise there
            return _Failed(e)
