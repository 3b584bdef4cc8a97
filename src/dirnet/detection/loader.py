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

import functools
from collections.abc import Sequence

import numpy as np
import torch

from dirnet.data.batching import EpochBatches, EpochLoader, check_workers
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


class DetectionLoader(EpochLoader):
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
        self.batches = EpochBatches(len(dataset), _positive_int("batch_size", batch_size),
                                    train=train, seed=seed, rank=rank, world_size=world_size,
                                    drop_last=drop_last)
        self.input_size = _positive_int("input_size", input_size)
        check_workers(workers, prefetch, worker_kind)
        if augment == "default":
            augment = AugmentConfig() if train else None
        if augment is not None and not isinstance(augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig, None or 'default', got {augment!r}")
        if len(mean) != 3 or len(std) != 3 or any(s <= 0 for s in std):
            raise ValueError(f"mean/std need 3 values each (std > 0), got {list(mean)}/{list(std)}")
        self.dataset = dataset
        self.augment = augment
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.fill = tuple(int(round(m * 255)) for m in self.mean)
        self.keep_difficult = (not self.train) if keep_difficult is None else bool(keep_difficult)
        self.workers, self.prefetch, self.worker_kind = workers, prefetch, worker_kind
        self.pin_memory = bool(pin_memory)
        self._scale = torch.tensor([1 / (255 * s) for s in self.std]).view(1, 3, 1, 1)
        self._shift = torch.tensor([m / s for m, s in zip(self.mean, self.std)]).view(1, 3, 1, 1)

    def _maker(self, indices: torch.Tensor, epoch: int):
        return functools.partial(self.make_batch, indices.tolist(), epoch)

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
