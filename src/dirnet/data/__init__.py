"""Data sets and fast batched loading (no torchvision).

    bundle = dirnet.data.build("cifar10", "data/cifar10", val_size=5000, seed=0)
    loader = dirnet.data.BatchLoader(bundle.train, 128, train=True,
                                     augment=bundle.train_augment, seed=0,
                                     mean=bundle.mean, std=bundle.std)
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for x, y in loader: ...

Readers: CIFAR-10 python batches (restricted unpickler), Fashion-MNIST idx /
npz, ImageNet-style folders and ``path label`` image lists (Pillow, lazy),
and the embedded Fashion-MNIST subset ``fashion_mnist_demo``. See
docs/data.md for layouts and the determinism contract. ``dirnet data
arrange-val`` (:mod:`dirnet.data.arrange`) sorts ImageNet's flat validation
folder into class folders.
"""
from .augment import crop_flip, flip, normalize
from .cifar import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, read_cifar10
from .datasets import TensorImageDataset
from .factory import DataBundle, build, default_root, names
from .fashion_mnist import (
                            FASHION_MNIST_CLASSES,
                            FASHION_MNIST_MEAN,
                            FASHION_MNIST_STD,
                            read_fashion_mnist,
                            read_fashion_mnist_demo,
                            read_fashion_mnist_npz,
                            read_idx,
)
from .imagefolder import IMAGENET_MEAN, IMAGENET_STD, ImageFolderDataset, read_imagefolder
from .imagelist import read_imagelist
from .loader import WORKER_KINDS, BatchLoader, shard_indices
from .safe_pickle import RestrictedUnpickler, UnsafePickleError, safe_load
from .split import holdout_split

__all__ = [
                            "CIFAR10_CLASSES",
                            "CIFAR10_MEAN",
                            "CIFAR10_STD",
                            "FASHION_MNIST_CLASSES",
                            "FASHION_MNIST_MEAN",
                            "FASHION_MNIST_STD",
                            "IMAGENET_MEAN",
                            "IMAGENET_STD",
                            "BatchLoader",
                            "WORKER_KINDS",
                            "DataBundle",
                            "ImageFolderDataset",
                            "RestrictedUnpickler",
                            "TensorImageDataset",
                            "UnsafePickleError",
                            "build",
                            "crop_flip",
                            "default_root",
                            "flip",
                            "holdout_split",
                            "names",
                            "normalize",
                            "read_cifar10",
                            "read_fashion_mnist",
                            "read_fashion_mnist_demo",
                            "read_fashion_mnist_npz",
                            "read_idx",
                            "read_imagefolder",
                            "read_imagelist",
                            "safe_load",
                            "shard_indices",
]
