"""In-memory image classification sets (CIFAR-10, Fashion-MNIST).

Images stay uint8 (N, C, H, W) until the loader has augmented a batch: 4x less
memory than float and augmentation on bytes is cheaper.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from . import augment as _aug

__all__ = ["TensorImageDataset"]


class TensorImageDataset:
    """uint8 images (N, C, H, W) + int64 labels + class names, all in memory."""

    supported_augments = _aug.IN_MEMORY_AUGMENTS

    def __init__(
        self,
        images: torch.Tensor | np.ndarray,
        labels: torch.Tensor | np.ndarray | Sequence[int],
        class_names: Sequence[str],
    ) -> None:
        images = torch.as_tensor(images)
        labels = torch.as_tensor(np.asarray(labels)).to(torch.int64)
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be uint8 of shape (N, C, H, W), got {images.dtype} {tuple(images.shape)}"
            )
        if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"labels must be 1-D with one entry per image ({images.shape[0]}), "
                f"got shape {tuple(labels.shape)}"
            )
        k = len(class_names)
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= k):
            raise ValueError(f"labels must lie in [0, {k}) for {k} classes")
        self.images = images.contiguous()
        self.labels = labels.contiguous()
        self.class_names = [str(c) for c in class_names]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        return f"TensorImageDataset(n={len(self)}, shape=({c}, {h}, {w}), classes={self.num_classes})"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: torch.Tensor | Sequence[int]) -> TensorImageDataset:
        """A new data set holding copies of the given samples."""
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return TensorImageDataset(self.images[idx], self.labels[idx], self.class_names)

    def load_batch(
        self, indices: torch.Tensor, augment: str | None, generator: torch.Generator
    ) -> torch.Tensor:
        """uint8 batch of the given samples, augmented on the whole batch at once."""
        # index_select is several times faster than advanced indexing for this gather
        images = torch.index_select(self.images, 0, torch.as_tensor(indices, dtype=torch.int64))
        return _aug.apply(images, augment, generator)
