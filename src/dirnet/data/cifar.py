"""CIFAR-10 from the official python pickle batches, read with a restricted unpickler."""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import TensorImageDataset
from .safe_pickle import safe_load

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_LAYOUT",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "find_cifar10_dir",
    "read_cifar10",
]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
#: per-channel mean/std of the 50,000 training images on the [0, 1] scale (the
#: lossless originals; the JPEG q75 copy: mean 0.4913/0.4821/0.4465, std
#: 0.2452/0.2428/0.2606 -- JPEG smooths, so std is ~0.002 lower; the published
#: constants are used for both so that numbers stay comparable)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

_TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
_TEST_FILE = "test_batch"
_META_FILE = "batches.meta"
_DIRNAME = "cifar-10-batches-py"

CIFAR10_LAYOUT = """expected the official CIFAR-10 python batches:
  ROOT/
    cifar-10-batches-py/
      data_batch_1 ... data_batch_5
      test_batch
      batches.meta
(ROOT may also be the cifar-10-batches-py folder itself). In the dirnet checkout,
`make cifar10` writes them to data/cifar10."""


def find_cifar10_dir(root: str | os.PathLike[str]) -> Path:
    """The folder holding the batch files: ROOT/cifar-10-batches-py or ROOT itself."""
    root = Path(root).expanduser()
    for cand in (root / _DIRNAME, root):
        if all((cand / f).is_file() for f in (*_TRAIN_FILES, _TEST_FILE, _META_FILE)):
            return cand
    where = root / _DIRNAME if (root / _DIRNAME).is_dir() else root
    if not where.is_dir():
        raise FileNotFoundError(f"CIFAR-10 folder {root} does not exist; {CIFAR10_LAYOUT}")
    missing = [f for f in (*_TRAIN_FILES, _TEST_FILE, _META_FILE) if not (where / f).is_file()]
    raise FileNotFoundError(f"{where} lacks {', '.join(missing)}; {CIFAR10_LAYOUT}")


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            obj = safe_load(fh)
    except (pickle.UnpicklingError, ValueError, EOFError, TypeError, AttributeError,
            IndexError, KeyError, OverflowError) as e:
        raise ValueError(f"{path} is not a CIFAR-10 python batch ({e}); {CIFAR10_LAYOUT}") from e
    if not isinstance(obj, dict):
        raise ValueError(  # noqa: TRY004 - a malformed file, not a wrong argument
            f"{path} holds a {type(obj).__name__}, not a dict; {CIFAR10_LAYOUT}")
    # Python-2 pickles read with latin1 give str keys, Python-3 ones give bytes keys.
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    d = _load(path)
    data, labels = d.get("data"), d.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{path}: 'data' must be a uint8 array (N, 3072), got {got}")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: 'labels' must be a list of ints ({e})") from e
    if y.ndim != 1 or y.shape[0] != data.shape[0]:
        raise ValueError(f"{path}: 'labels' must hold {data.shape[0]} ints, got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{path}: labels must lie in [0, {num_classes})")
    return data.reshape(-1, 3, 32, 32), y


def _read_class_names(path: Path) -> list[str]:
    names = _load(path).get("label_names")
    if not isinstance(names, list) or not all(isinstance(n, (str, bytes)) for n in names) \
            or len(names) < 2:
        raise ValueError(f"{path}: 'label_names' must be a list of class names; {CIFAR10_LAYOUT}")
    return [n.decode("utf-8") if isinstance(n, bytes) else n for n in names]


def read_cifar10(root: str | os.PathLike[str]) -> tuple[TensorImageDataset, TensorImageDataset]:
    """(train, test) sets: 50,000 / 10,000 uint8 images (3, 32, 32), labels 0..9."""
    folder = find_cifar10_dir(root)
    names = _read_class_names(folder / _META_FILE)
    parts = [_read_batch(folder / f, len(names)) for f in _TRAIN_FILES]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_batch(folder / _TEST_FILE, len(names))
    return (TensorImageDataset(x_train, y_train, names),
            TensorImageDataset(np.ascontiguousarray(x_test), y_test, names))
