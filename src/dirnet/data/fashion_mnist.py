"""Fashion-MNIST: the official idx files, the subset npz, and the embedded demo set."""
from __future__ import annotations

import gzip
import os
from importlib import resources
from pathlib import Path

import numpy as np

from .datasets import TensorImageDataset

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_LAYOUT",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "demo_asset",
    "read_fashion_mnist",
    "read_fashion_mnist_demo",
    "read_fashion_mnist_npz",
    "read_idx",
]

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
#: mean/std of the 60,000 training images on the [0, 1] scale (the shipped
#: 10,000-image subset: 0.2840 / 0.3513; the published constants serve both)
FASHION_MNIST_MEAN = (0.2860,)
FASHION_MNIST_STD = (0.3530,)

#: Debian's dataset-fashion-mnist package puts the full set here
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

FASHION_MNIST_LAYOUT = """expected the official Fashion-MNIST idx files (plain or .gz):
  ROOT/
    train-images-idx3-ubyte[.gz]
    train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]
    t10k-labels-idx1-ubyte[.gz]
(also found under ROOT/raw/ or ROOT/FashionMNIST/raw/; Debian's dataset-fashion-mnist
package installs them in /usr/share/datasets/fashion-mnist), or an .npz file with
x_train (N, 28, 28) uint8, y_train, x_test, y_test."""

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_ASSET = "fashion_mnist_subset.npz"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one idx file (optionally gzip-compressed) into a numpy array."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read ({e}); {FASHION_MNIST_LAYOUT}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an idx file (bad magic number); {FASHION_MNIST_LAYOUT}")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if ndim == 0 or len(raw) < head:
        raise ValueError(f"{path}: truncated idx header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = head + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: idx header promises {expected} bytes for shape {shape}, "
                         f"file has {len(raw)}")
    arr = np.frombuffer(raw, dtype=dtype, offset=head).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    for folder in (root, root / "raw", root / "FashionMNIST" / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(f"{root}: no {stem}[.gz]; {FASHION_MNIST_LAYOUT}")


def _make(x: np.ndarray, y: np.ndarray, where: str) -> TensorImageDataset:
    if x.ndim != 3 or x.dtype != np.uint8:
        raise ValueError(f"{where}: images must be uint8 (N, H, W), got {x.dtype} {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{where}: {x.shape[0]} images but labels of shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (y.size and (y.min() < 0 or y.max() > 9)):
        raise ValueError(f"{where}: labels must be integers in [0, 10)")
    return TensorImageDataset(np.ascontiguousarray(x[:, None]), y.astype(np.int64),
                              FASHION_MNIST_CLASSES)


def read_fashion_mnist(root: str | os.PathLike[str]) -> tuple[TensorImageDataset, TensorImageDataset]:
    """(train, test) from the idx files: 60,000 / 10,000 uint8 images (1, 28, 28)."""
    root = Path(root).expanduser()
    if root.is_file() and root.suffix == ".npz":
        return read_fashion_mnist_npz(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Fashion-MNIST folder {root} does not exist; {FASHION_MNIST_LAYOUT}")
    arrs = {k: read_idx(_find(root, stem)) for k, stem in _FILES.items()}
    return (_make(arrs["train_images"], arrs["train_labels"], str(root) + " (train)"),
            _make(arrs["test_images"], arrs["test_labels"], str(root) + " (t10k)"))


def read_fashion_mnist_npz(path: str | os.PathLike[str]) -> tuple[TensorImageDataset, TensorImageDataset]:
    """(train, test) from an npz with x_train, y_train, x_test, y_test (no pickles allowed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; {FASHION_MNIST_LAYOUT}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrs = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as e:
        raise ValueError(f"{path}: missing array {e}; {FASHION_MNIST_LAYOUT}") from e
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable npz ({e}); {FASHION_MNIST_LAYOUT}") from e
    return (_make(arrs["x_train"], arrs["y_train"], f"{path} (train)"),
            _make(arrs["x_test"], arrs["y_test"], f"{path} (test)"))


def demo_asset() -> resources.abc.Traversable:
    """The Fashion-MNIST subset shipped inside the package (MIT, Zalando SE)."""
    return resources.files(__package__).joinpath("assets", _ASSET)


def read_fashion_mnist_demo() -> tuple[TensorImageDataset, TensorImageDataset]:
    """The embedded subset: 10,000 train (1,000 per class) / 2,000 test (200 per class)."""
    ref = demo_asset()
    if not ref.is_file():
        raise FileNotFoundError(f"the packaged demo set {ref} is missing; reinstall dirnet")
    with resources.as_file(ref) as path:
        return read_fashion_mnist_npz(path)
