"""Build models, data and optimizers from a run configuration."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


def build_model(cfg: dict[str, Any], *, num_classes: int, in_channels: int,
                image_size: int = 32) -> nn.Module:
    """The configured zoo model, binarized with the configured method (or fp)."""
    import dirnet

    arch, kwargs = cfg["model"]["arch"], cfg["model"].get("kwargs") or {}
    if ":" in arch:  # "package.module:builder", a user's own model outside the zoo
        model = _import_builder(arch)(num_classes=num_classes, in_channels=in_channels, **kwargs)
    else:
        model = dirnet.models.create(arch, num_classes=num_classes, in_channels=in_channels,
                                     **kwargs)
    if cfg["method"] != "fp":
        model = dirnet.binarize(model, cfg["method"], keep=cfg.get("keep") or None,
                                **(cfg.get("recipe") or {}))
    materialize(model, in_channels, image_size)
    return model


def _import_builder(spec: str):
    import importlib

    mod, _, fn = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"model.arch={spec!r}: cannot import builder {fn!r} from {mod!r} ({e})") from None


@torch.no_grad()
def materialize(model: nn.Module, in_channels: int, image_size: int) -> None:
    """Run one eval-mode forward so lazily sized modules (RPReLU) get their parameters.

    Eval mode: BatchNorm running statistics and DTE's running spread are untouched.
    """
    if not any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters()):
        return
    was_training = model.training
    model.eval()
    model(torch.zeros(2, in_channels, image_size, image_size))
    model.train(was_training)


def build_optimizer(cfg: dict[str, Any], params) -> torch.optim.Optimizer:
    o = cfg["optim"]
    if o["name"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                               weight_decay=o["weight_decay"], nesterov=bool(o["nesterov"]))
    cls = torch.optim.Adam if o["name"] == "adam" else torch.optim.AdamW
    return cls(params, lr=o["lr"], betas=tuple(o["betas"]), weight_decay=o["weight_decay"])


def build_data(cfg: dict[str, Any]):
    """``(bundle, train_set, val_set, test_set, augment)`` with subsets applied."""
    import dirnet.data as D

    d = cfg["data"]
    bundle = D.build(d["name"], d["root"], val_size=d["val_size"], seed=cfg["seed"])
    train, val, test = bundle.train, bundle.val, bundle.test
    if d["train_subset"]:
        train = train.subset(torch.arange(min(int(d["train_subset"]), len(train))))
    if d["test_subset"] and test is not None:
        test = test.subset(torch.arange(min(int(d["test_subset"]), len(test))))
    aug = d["augment"]
    if aug == "default":
        aug = bundle.train_augment
    elif aug in ("none", None):
        aug = None
    return bundle, train, val, test, aug


def build_loader(dataset, cfg: dict[str, Any], bundle, *, train: bool, augment=None,
                 rank: int = 0, world: int = 1):
    """The run's loader over ``dataset``: its batch size (split across DDP ranks) and seed.

    Training loaders shuffle and apply ``augment``; evaluation loaders use
    ``data.eval_batch_size`` and no augmentation.
    """
    from dirnet.data import BatchLoader

    bs = cfg["data"]["batch_size"] if train else cfg["data"]["eval_batch_size"]
    if train:
        if bs % world:
            raise ValueError(f"data.batch_size={bs} must be divisible by the {world} DDP processes")
        bs //= world
    return BatchLoader(dataset, bs, train=train, augment=augment if train else None,
                       seed=cfg["seed"], mean=bundle.mean, std=bundle.std,
                       rank=rank if train else 0, world_size=world if train else 1)
