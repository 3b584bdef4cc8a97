"""``build(name, root)``: one call from a data-set name to train/val/test sets + metadata."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cifar import CIFAR10_MEAN, CIFAR10_STD, read_cifar10
from .fashion_mnist import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    SYSTEM_DIR,
    read_fashion_mnist,
    read_fashion_mnist_demo,
)
from .imagefolder import IMAGENET_MEAN, IMAGENET_STD, read_imagefolder
from .imagelist import read_imagelist
from .split import holdout_split

__all__ = ["DataBundle", "build", "default_root", "names"]

_NAMES = ("cifar10", "fashion_mnist", "fashion_mnist_demo", "imagefolder", "imagelist")


@dataclass
class DataBundle:
    """Everything a trainer needs to know about one data set.

    ``val`` is a fixed, class-stratified part of the *training* set (removed
    from ``train``), or None; ``test`` is the official test split (None for an
    image folder without val/). ``mean``/``std`` are per channel on the [0, 1]
    scale; ``train_augment`` is the augmentation this data set is usually
    trained with (pass it to BatchLoader).
    """

    name: str
    train: Any
    val: Any | None
    test: Any | None
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: list[str]
    train_augment: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def names() -> list[str]:
    """The names :func:`build` accepts."""
    return list(_NAMES)


def default_root(name: str) -> Path:
    """Where a data set is looked for when ``root`` is None: $DIRNET_DATA/<name>
    (DIRNET_DATA defaults to ./data); Fashion-MNIST also tries Debian's
    /usr/share/datasets/fashion-mnist."""
    base = Path(os.environ.get("DIRNET_DATA", "data")) / name
    if name == "fashion_mnist" and not base.exists() and SYSTEM_DIR.is_dir():
        return SYSTEM_DIR
    return base


def _native_size(name: str, size: int, image_size: int | None) -> int:
    if image_size is not None and image_size != size:
        raise ValueError(f"{name} images are {size}x{size}; image_size must be None or {size}, "
                         f"got {image_size}")
    return size


def build(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    val_size: float = 0,
    seed: int = 0,
    image_size: int | None = None,
) -> DataBundle:
    """Load data set ``name`` (one of :func:`names`) and hold out ``val_size`` training samples.

    ``val_size``: count, or fraction in (0, 1), of the training set kept apart
    as ``val``, chosen by ``seed`` (stratified by class). ``image_size`` only
    applies to ``imagefolder`` and ``imagelist`` (default 224); the in-memory
    sets keep their native size.
    """
    if not isinstance(name, str) or name.lower().replace("-", "_") not in _NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(_NAMES)}")
    name = name.lower().replace("-", "_")
    info: dict[str, Any] = {}
    if name == "cifar10":
        path = Path(root) if root is not None else default_root(name)
        train, test = read_cifar10(path)
        size = _native_size(name, 32, image_size)
        mean, std, aug = CIFAR10_MEAN, CIFAR10_STD, "crop_flip"
        info["root"] = str(path)
    elif name in ("fashion_mnist", "fashion_mnist_demo"):
        if name == "fashion_mnist_demo":
            if root is not None:
                raise ValueError("fashion_mnist_demo is embedded in the package; pass root=None")
            train, test = read_fashion_mnist_demo()
        else:
            path = Path(root) if root is not None else default_root(name)
            train, test = read_fashion_mnist(path)
            info["root"] = str(path)
        size = _native_size(name, 28, image_size)
        mean, std, aug = FASHION_MNIST_MEAN, FASHION_MNIST_STD, "flip"
    elif name == "imagelist":
        if root is None:
            raise ValueError("imagelist needs root=ROOT holding ROOT/train.txt and optionally "
                             "ROOT/val.txt ('PATH LABEL' lines)")
        size = 224 if image_size is None else image_size
        train, test = read_imagelist(root, size)
        mean, std, aug = IMAGENET_MEAN, IMAGENET_STD, "rrc_flip"
        info["root"] = str(root)
    else:
        if root is None:
            raise ValueError("imagefolder needs root=ROOT holding ROOT/train/<class>/... "
                             "and optionally ROOT/val/<class>/...")
        size = 224 if image_size is None else image_size
        train, test = read_imagefolder(root, size)
        mean, std, aug = IMAGENET_MEAN, IMAGENET_STD, "rrc_flip"
        info["root"] = str(root)
    val = None
    if val_size:
        train_idx, val_idx = holdout_split(train.labels, val_size, seed)
        train, val = train.subset(train_idx), train.subset(val_idx)
        info["val_indices"] = val_idx
    return DataBundle(name=name, train=train, val=val, test=test,
                      num_classes=train.num_classes, in_channels=train.image_shape[0],
                      image_size=size, mean=tuple(mean), std=tuple(std),
                      class_names=list(train.class_names), train_augment=aug, info=info)
