"""DetectionLoader: deterministic, shardable batches of (images, box targets).

The detection twin of :class:`dirnet.data.BatchLoader`, with the same
interface (``set_epoch``, ``iter_from``, ``indices``, ``len``, rank/world_size
sharding, ``drop_last``) and the same determinism contract:

- the sample order of epoch e depends only on (seed, e), the same on every rank;
- the augmentation of batch b on rank r in epoch e depends only on
  (seed, e, r, b) (one generator per image: (seed, "augment", e, r, b, j)).

Images differ in size and boxes in number, so samples are transformed one at
a time (:func:`dirnet.detection.augment.transform`) and stacked after the
resize. Workers as in BatchLoader: ``workers=0`` makes batches in the calling
thread; ``workers=W`` makes each batch whole in one of W threads (Pillow decodes
and resizes with the GIL released) or processes (``worker_kind="processes"``,
torch's DataLoader), ``prefetch`` batches ahead per worker, in order. The same
:meth:`DetectionLoader.make_batch` makes batch b either way, so batches are
bit-identical for any W.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.utils.data

from dirnet.data.loader import WORKER_KINDS, shard_indices
from dirnet.data.seeding import generator

from .augment import AugmentConfig, transform
from .voc import VOCDataset

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "DetectionLoader", "Target"]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: {"boxes": float32 (n, 4) relative xyxy, "labels": int64 (n,), "difficult": bool (n,),
#:  "index": int64 () dataset index, "orig_size": int64 (2,) = (height, width)}
Target = dict[str, torch.Tensor]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class DetectionLoader:
    """Iterate ``(float32 (B, 3, S, S) normalised images, list of B targets)``.

    ``train=True`` shuffles and augments (SSD's pipeline, ``augment`` sets it;
    pass ``augment=None`` for shuffled but unaugmented batches); ``train=False``
    keeps the file order and only resizes, with every box kept. Difficult boxes
    are dropped from training targets and kept (flagged) for evaluation unless
    ``keep_difficult`` says otherwise. Call :meth:`set_epoch` before each epoch.
    Images are resized to ``input_size`` squared (aspect not kept, as in SSD),
    then ``(x / 255 - mean) / std``; zoom-out fills with the mean colour.
    ``workers``, ``prefetch``, ``pin_memory`` and ``worker_kind`` as in BatchLoader.
    """

    def __init__(
        self,
        dataset: VOCDataset,
        batch_size: int,
        *,
        train: bool,
        input_size: int,
        seed: int,
        augment: AugmentConfig | None | str = "default",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        keep_difficult: bool | None = None,
        workers: int = 0,
        prefetch: int = 2,
        pin_memory: bool = False,
        worker_kind: str = "threads",
    ) -> None:
        if not hasattr(dataset, "open_image") or not hasattr(dataset, "annotations"):
            raise TypeError("dataset must provide annotations and open_image(index) "
                            f"(a VOCDataset); got {type(dataset).__name__}")
        if len(dataset) == 0:
            raise ValueError("dataset is empty")
        self.batch_size = _positive_int("batch_size", batch_size)
        self.input_size = _positive_int("input_size", input_size)
        self.world_size = _positive_int("world_size", world_size)
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, {world_size}), got {rank!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        for name, value, low in (("workers", workers, 0), ("prefetch", prefetch, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if worker_kind not in WORKER_KINDS:
            raise ValueError(f"worker_kind must be one of {WORKER_KINDS}, got {worker_kind!r}")
        if augment == "default":
            augment = AugmentConfig() if train else None
        if augment is not None and not isinstance(augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig, None or 'default', got {augment!r}")
        if len(mean) != 3 or len(std) != 3 or any(s <= 0 for s in std):
            raise ValueError(f"mean/std need 3 values each (std > 0), got {list(mean)}/{list(std)}")
        self.dataset = dataset
        self.train = bool(train)
        self.augment = augment
        self.seed = seed
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.fill = tuple(int(round(m * 255)) for m in self.mean)
        self.rank = rank
        self.drop_last = bool(drop_last)
        self.keep_difficult = (not self.train) if keep_difficult is None else bool(keep_difficult)
        self.workers, self.prefetch, self.worker_kind = workers, prefetch, worker_kind
        self.pin_memory = bool(pin_memory)
        self.epoch = 0
        self._scale = torch.tensor([1 / (255 * s) for s in self.std]).view(1, 3, 1, 1)
        self._shift = torch.tensor([m / s for m, s in zip(self.mean, self.std)]).view(1, 3, 1, 1)

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

    def __iter__(self) -> Iterator[tuple[torch.Tensor, list[Target]]]:
        return self.iter_from(0)

    def iter_from(self, start_batch: int) -> Iterator[tuple[torch.Tensor, list[Target]]]:
        """Batches ``start_batch, ..., len(self) - 1`` of the current epoch."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start_batch must lie in [0, {len(self)}], got {start_batch}")
        jobs = _Jobs(self, self.indices().tolist(), self.epoch, start_batch)
        if self.workers == 0:
            for k in range(len(jobs)):
                yield jobs[k]
        elif self.worker_kind == "threads":
            yield from _threaded(jobs, self.workers, self.workers * self.prefetch, self.pin_memory)
        elif len(jobs):
            for out in torch.utils.data.DataLoader(
                    jobs, batch_size=None, shuffle=False, num_workers=self.workers,
                    prefetch_factor=self.prefetch, pin_memory=self.pin_memory):
                if isinstance(out, _Failed):
                    raise out.error  # the worker's own exception
                yield out

    def make_batch(self, indices: Sequence[int], epoch: int, batch: int
                   ) -> tuple[torch.Tensor, list[Target]]:
        """Batch ``batch`` of ``epoch`` from this rank's ``indices``: the one place batches
        are made, in-process or in a worker (one generator per image)."""
        sel = indices[batch * self.batch_size: (batch + 1) * self.batch_size]
        gens = [generator(self.seed, "augment", epoch, self.rank, batch, j) if self.augment
                else None for j in range(len(sel))]
        return self.load_batch(sel, gens)

    def load_batch(self, indices: Sequence[int], generators: Sequence[torch.Generator | None]
                   ) -> tuple[torch.Tensor, list[Target]]:
        """Transform and stack the samples ``indices`` (one generator or None per sample)."""
        pixels, targets = [], []
        for i, g in zip(indices, generators):
            ann = self.dataset.annotations[i]
            keep = np.ones(len(ann.boxes), bool) if self.keep_difficult else ~ann.difficult
            boxes = ann.boxes[keep]
            with self.dataset.open_image(i) as image:
                img, rel, kept = transform(image, boxes, self.input_size, self.fill, g,
                                           self.augment or AugmentConfig())
            pixels.append(torch.from_numpy(img))
            targets.append({
                "boxes": torch.from_numpy(rel),
                "labels": torch.from_numpy(ann.labels[keep][kept]),
                "difficult": torch.from_numpy(ann.difficult[keep][kept]),
                "index": torch.tensor(i, dtype=torch.int64),
                "orig_size": torch.tensor([ann.height, ann.width], dtype=torch.int64),
            })
        x = torch.stack(pixels).permute(0, 3, 1, 2).float()
        return (x * self._scale - self._shift).contiguous(), targets

    def __repr__(self) -> str:
        return (f"DetectionLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"train={self.train}, input_size={self.input_size}, rank={self.rank}/"
                f"{self.world_size})")



class _Failed:
    """An exception raised in a worker process, carried back whole."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Jobs(torch.utils.data.Dataset):
    """Batches ``start, ..., len(loader) - 1`` of one epoch as items (one per worker task)."""

    def __init__(self, loader: DetectionLoader, indices: list[int], epoch: int, start: int):
        self.loader, self.indices, self.epoch, self.start = loader, indices, epoch, start

    def __len__(self) -> int:
        return len(self.loader) - self.start

    def __getitem__(self, k: int):
        if torch.utils.data.get_worker_info() is None:
            return self.loader.make_batch(self.indices, self.epoch, self.start + k)
        try:
            return self.loader.make_batch(self.indices, self.epoch, self.start + k)
        except Exception as e:  # noqa: BLE001 - handed to the main process to raise there
            return _Failed(e)


def _threaded(jobs: _Jobs, workers: int, window: int, pin: bool
              ) -> Iterator[tuple[torch.Tensor, list[Target]]]:
    """Batches made by a pool of ``workers`` threads, at most ``window`` ahead, in order."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="dirnet-detection-loader")
    pending: deque = deque()
    submitted = 0
    try:
        while pending or submitted < len(jobs):
            while submitted < len(jobs) and len(pending) < window:
                pending.append(pool.submit(jobs.__getitem__, submitted))
                submitted += 1
            x, targets = pending.popleft().result()  # a worker's exception is raised as itself
            yield (x.pin_memory() if pin else x), targets
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an early stop leaves no thread behind
