"""Re-estimate BatchNorm running statistics for the network as it finally is.

Binary weights keep flipping sign until the last step of training (about 1 %
per epoch even at a learning rate near zero), and every flip changes what
the following BatchNorm sees. The running estimates, an exponential average
over the last few dozen batches, then describe a slightly different network.
One pass over training images with the final weights, averaged plainly
(``momentum=None``), gives statistics of the final network
(``dirnet reestimate-bn RUN`` writes ``RUN/checkpoints/bn.pt``; evaluate it
with ``dirnet eval RUN --which bn``). Measured on ResNet-20 at the CPU
budget it does not help (BENCHMARKS.md), so no recipe uses it; it is for
models whose statistics are known to be stale (fine-tuned, converted).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers that keep running statistics."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@torch.no_grad()
def reestimate_bn(model: nn.Module, batches: Iterable, device: torch.device | str = "cpu",
                  max_batches: int | None = None, progress: bool = False) -> int:
    """Reset every BatchNorm's running mean/var and average them over ``batches``.

    ``batches`` yields ``(x, y)`` or ``x``. Only the BatchNorm layers run in
    training mode: dropout, DTE's running spread and anything else that
    behaves differently in training stay as in evaluation. Returns the number
    of batches seen; the model is left in eval mode.
    """
    bns = batchnorms(model)
    if not bns:
        raise ValueError("the model has no BatchNorm layer with running statistics")
    if max_batches is not None and max_batches < 1:
        raise ValueError(f"max_batches must be at least 1, got {max_batches}")
    momenta = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: a plain mean over the batches
        m.train()
    seen = 0
    try:
        from tqdm.auto import tqdm

        for batch in tqdm(batches, desc="BatchNorm re-estimation", leave=False,
                          disable=not progress or None):
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(x.to(device, non_blocking=True))
            seen += 1
            if max_batches is not None and seen >= max_batches:
                break
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        model.eval()
    if seen == 0:
        raise ValueError("no batches to re-estimate BatchNorm statistics from")
    return seen


def reestimate_run(target: str | Path, which: str = "last", max_batches: int | None = None,
                   progress: bool = True, device: str = "cpu") -> tuple[Path, dict[str, Any]]:
    """Re-estimate a trained run's BatchNorm statistics on its own training part.

    The images are those the run trained on (its ``data.val_size`` split and
    ``data.train_subset`` applied) with its training augmentation and batch
    size. Writes ``RUN/checkpoints/bn.pt`` (or ``NAME_bn.pt`` next to a
    checkpoint file): the same checkpoint with the new statistics and a
    ``bn_reestimate`` record. Returns that path and the record.
    """
    from dirnet import checkpoint as ckpt
    from dirnet.train.builders import build_data, build_loader

    src = ckpt.resolve(target, which)
    state = ckpt.load(src)
    cfg = ckpt.config_of(state)
    model = ckpt.model_from(state).to(device)
    bundle, train_set, _, _, augment = build_data(cfg)
    loader = build_loader(train_set, cfg, bundle, train=True, augment=augment)
    loader.set_epoch(0)
    seen = reestimate_bn(model, loader, device, max_batches=max_batches, progress=progress)
    record = {"from": src.name, "batches": seen, "batch_size": cfg.data.batch_size,
              "augment": augment}
    state["model"] = {k: v.cpu() for k, v in model.state_dict().items()}
    state["bn_reestimate"] = record
    out = src.with_name("bn.pt") if Path(target).is_dir() else src.with_name(f"{src.stem}_bn.pt")
    ckpt.save_atomic(state, out)
    return out, record
