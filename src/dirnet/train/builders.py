"""Build a run's data, loaders and optimizer from its configuration (the model: dirnet.build)."""
from __future__ import annotations

import os

import torch

from dirnet import data as D
from dirnet.config import OptimConfig, RunConfig


def build_optimizer(optim: OptimConfig, params) -> torch.optim.Optimizer:
    if optim.name == "sgd":
        return torch.optim.SGD(params, lr=optim.lr, momentum=optim.momentum,
                               weight_decay=optim.weight_decay, nesterov=bool(optim.nesterov))
    cls = torch.optim.Adam if optim.name == "adam" else torch.optim.AdamW
    return cls(params, lr=optim.lr, betas=tuple(optim.betas), weight_decay=optim.weight_decay)


def build_data(cfg: RunConfig):
    """``(bundle, train_set, val_set, test_set, augment)`` with subsets applied."""
    d = cfg.data
    bundle = D.build(d.name, d.root, val_size=d.val_size, seed=cfg.seed)
    train, val, test = bundle.train, bundle.val, bundle.test
    if d.train_subset:
        train = train.subset(torch.arange(min(int(d.train_subset), len(train))))
    if d.test_subset and test is not None:
        test = test.subset(torch.arange(min(int(d.test_subset), len(test))))
    aug = d.augment
    if aug == "default":
        aug = bundle.train_augment
    elif aug in ("none", None):
        aug = None
    return bundle, train, val, test, aug


def default_workers(device: torch.device | None) -> int:
    """Loader processes when ``data.workers`` is not set: none on a CPU device (the model
    needs the cores), else this rank's share of the CPUs less one (its own), at most 8."""
    if device is None or device.type != "cuda":
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = (cpus or 1) // max(int(os.environ.get("LOCAL_WORLD_SIZE", "1")), 1)
    return max(0, min(share - 1, 8))


def build_loader(dataset, cfg: RunConfig, bundle, *, train: bool, augment=None,
                 rank: int = 0, world: int = 1, device: torch.device | None = None):
    """The run's loader over ``dataset``: its batch size (split across DDP ranks) and seed.

    Training loaders shuffle and apply ``augment``; evaluation loaders use
    ``data.eval_batch_size`` and no augmentation. ``data.workers`` processes make
    the batches (:func:`default_workers` when unset), into pinned memory for a GPU.
    """
    return D.BatchLoader(dataset, augment=augment if train else None, mean=bundle.mean,
                         std=bundle.std, **loader_options(cfg, train=train, rank=rank,
                                                          world=world, device=device))


def loader_options(cfg: RunConfig, *, train: bool, rank: int = 0, world: int = 1,
                   device: torch.device | None = None) -> dict:
    """What every task's loader takes from the config: this rank's batch size (the global
    ``data.batch_size`` split over DDP ranks; ``data.eval_batch_size`` unsplit), shuffling,
    seed, shard, workers and pinned memory for a GPU."""
    bs = cfg.data.batch_size if train else cfg.data.eval_batch_size
    if train:
        if bs % world:
            raise ValueError(f"data.batch_size={bs} must be divisible by the {world} DDP processes")
        bs //= world
    return {"batch_size": bs, "train": train, "seed": cfg.seed,
            "rank": rank if train else 0, "world_size": world if train else 1,
            "workers": cfg.data.workers if cfg.data.workers is not None else default_workers(device),
            "prefetch": cfg.data.prefetch, "worker_kind": cfg.data.worker_kind,
            "pin_memory": device is not None and device.type == "cuda"}
