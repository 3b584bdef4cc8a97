"""The RBD teacher: a finished full-precision run of the same architecture and data shape."""
from __future__ import annotations

import torch
from torch import nn

from dirnet import checkpoint as ckpt
from dirnet.config import RunConfig


def load_teacher(cfg: RunConfig, num_classes: int, in_channels: int, image_size: int,
                 device: torch.device) -> nn.Module:
    """``cfg.distill.teacher``'s model in eval mode, checked to fit this run."""
    path = cfg.distill.teacher
    tck = ckpt.load(path)
    tcfg = ckpt.config_of(tck)
    if tcfg.method != "fp":
        raise ValueError(f"teacher {path!r} is a {tcfg.method!r} model; RBD needs a full-precision teacher")
    if tcfg.model.arch != cfg.model.arch:
        raise ValueError(f"teacher arch {tcfg.model.arch!r} differs from the student's "
                         f"{cfg.model.arch!r}; RBD aligns same-named layers")
    trained_for = (tck["num_classes"], tck["in_channels"], tck.get("image_size", 32))
    if trained_for != (num_classes, in_channels, image_size):
        raise ValueError(f"teacher {path!r} was trained for (classes, channels, image size) "
                         f"{trained_for}; this run has {(num_classes, in_channels, image_size)}")
    return ckpt.model_from(tck).to(device)
