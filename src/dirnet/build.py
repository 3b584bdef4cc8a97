"""The model a run configuration describes: a zoo (or user) model, binarized by its method."""
from __future__ import annotations

import importlib

import torch
from torch import nn

from dirnet import (
    detection,  # noqa: F401 - registers the ssd_* detectors in the zoo
    models,
)
from dirnet.config import RunConfig
from dirnet.convert import binarize


def build_model(cfg: RunConfig, *, num_classes: int, in_channels: int,
                image_size: int = 32) -> nn.Module:
    """The configured model, binarized with the configured method (or left fp).

    ``model.input_size`` is passed to models that take it (detectors); layers a
    model lists in ``binarize_keep`` (a detector's prediction convs) stay full
    precision besides ``keep``.
    """
    arch, kwargs = cfg.model.arch, dict(cfg.model.kwargs)
    if cfg.model.input_size is not None:
        kwargs["input_size"] = cfg.model.input_size
    if ":" in arch:  # "package.module:builder", a user's own model outside the zoo
        model = import_builder(arch)(num_classes=num_classes, in_channels=in_channels, **kwargs)
    else:
        model = models.create(arch, num_classes=num_classes, in_channels=in_channels, **kwargs)
    if cfg.method != "fp":
        keep = [*cfg.keep, *getattr(model, "binarize_keep", ())]
        model = binarize(model, cfg.method, keep=keep or None, **cfg.recipe)
    materialize(model, in_channels, image_size)
    return model


def import_builder(spec: str):
    """The function named by ``"package.module:builder"``."""
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
