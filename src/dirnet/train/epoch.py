"""One training epoch: the step loop, its learning rate and schedule, divergence checks."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dirnet.config import RunConfig
from dirnet.progress import set_progress
from dirnet.train.device import autocast
from dirnet.train.distributed import all_reduce_sum
from dirnet.train.lr import lr_at
from dirnet.train.progress_log import ProgressLog
from dirnet.train.signals import RunInterrupted, StopRequest
from dirnet.train.task import Task

#: On a GPU, check the loss for NaN/Inf every this many steps (each check syncs).
CHECK_EVERY_CUDA = 50


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class StepParts:
    """What a training step needs: the model (and its DDP wrapper), optimizer, loss."""

    model: nn.Module  # the bare model (schedule, checkpoints)
    net: nn.Module  # what the forward pass runs: the model or its DDP wrapper
    optimizer: torch.optim.Optimizer
    task: Task  # the loss and the training count (classification or detection)
    distiller: nn.Module | None = None  # RBD loss, when a teacher is given
    scaler: torch.amp.GradScaler | None = None  # fp16 on CUDA


@dataclass
class EpochProgress:
    """Where the loop is within an epoch: what a mid-epoch checkpoint must hold.

    ``step`` batches of epoch ``epoch`` are done; ``sums`` (loss, correct, ce,
    float64) and ``seen`` are the epoch's running totals over them, so an
    epoch resumed mid-way logs the same figures as one run in one go.
    """

    epoch: int
    step: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    seen: int = 0

    def start(self, epoch: int, step: int = 0) -> None:
        if (epoch, step) != (self.epoch, self.step):  # a resumed epoch keeps its totals
            self.sums, self.seen = [0.0, 0.0, 0.0], 0
        self.epoch, self.step = epoch, step


def train_epoch(cfg: RunConfig, parts: StepParts, loader, device: torch.device, *,
                at: EpochProgress, last_path: Path, progress: ProgressLog | None,
                stop: StopRequest | None = None, distributed: bool = False) -> dict[str, Any]:
    """Train epoch ``at.epoch`` from batch ``at.step`` on; returns the epoch's train figures.

    Before each batch (every :data:`CHECK_EVERY_CUDA` under DDP on a GPU) the
    loop asks ``stop`` whether a stop was requested;
    if so it records in ``at`` the batches done and the running totals and
    raises :class:`RunInterrupted` (the caller writes the checkpoint).
    Running sums stay on the device: a ``.item()`` per step would stall a
    GPU's queue. The finiteness check syncs every step on the CPU (free
    there) and every :data:`CHECK_EVERY_CUDA` steps on a GPU.
    """
    epochs, epoch, first = cfg.schedule.epochs, at.epoch, at.step
    steps = len(loader)
    parts.net.train()
    if parts.distiller is not None:
        parts.distiller.train()
    loader.set_epoch(epoch)
    acc = torch.tensor(at.sums, dtype=torch.float64, device=device)  # loss, correct, ce
    seen = at.seen
    check_every = CHECK_EVERY_CUDA if device.type == "cuda" else 1
    timed = _TimedBatches(loader.iter_from(first))
    batches = timed if progress is None else progress.wrap(timed, epoch, first, steps)
    for step, (x, y) in enumerate(batches, start=first):
        # Under DDP the ranks agree on a stop with a collective, a sync a GPU should not pay
        # every step: they ask every check_every steps (any step boundary resumes exactly).
        asks = stop is not None and (not distributed or step % check_every == 0)
        if asks and stop.agreed(distributed, device):
            at.step, at.sums, at.seen = step, acc.tolist(), seen
            raise RunInterrupted(f"stopped at epoch {epoch + 1}, step {step}")
        set_progress(parts.model, (epoch + step / steps) / epochs, epochs=epochs)
        lr = lr_at(cfg.schedule, cfg.optim.lr, epoch + step / steps)
        for g in parts.optimizer.param_groups:
            g["lr"] = lr
        x, y = x.to(device, non_blocking=True), parts.task.targets_to(y, device)
        n = x.shape[0]
        loss, output = _forward(cfg, parts, x, y, device, acc)
        acc[0] += loss.detach().double() * n
        correct = parts.task.correct(output, y)
        if correct is not None:
            acc[1] += correct
        seen += n
        if (step + 1) % check_every == 0 and not torch.isfinite(acc[0]):
            raise TrainingDiverged(
                f"the loss became {float(loss.detach())} at epoch {epoch + 1}, step {step}"
                + (f" or up to {check_every - 1} steps before" if check_every > 1 else "")
                + f"; {_last_good(last_path)} (lower optim.lr or check the data)")
        _backward(parts, loss)
        if progress is not None:
            progress.step(step, lambda: float(acc[0]) / seen, lr)
    if not torch.isfinite(acc[0]):
        raise TrainingDiverged(f"the loss became non-finite in epoch {epoch + 1}; "
                               f"{_last_good(last_path)} (lower optim.lr or check the data)")
    check_finite_state(parts.model, epoch, last_path)
    loss_sum, correct, ce_sum = acc.tolist()
    at.step, at.sums, at.seen = steps, [loss_sum, correct, ce_sum], seen
    seen, loss_sum, correct, ce_sum = all_reduce_sum([seen, loss_sum, correct, ce_sum], device)
    lr = lr_at(cfg.schedule, cfg.optim.lr, epoch + (steps - 1) / steps)  # the last step's
    record = {"epoch": epoch, "train_loss": loss_sum / max(seen, 1)}
    if parts.task.primary == "top1":
        record["train_top1"] = 100.0 * correct / max(seen, 1)
    record.update(lr=lr, data_wait_s=timed.wait_s)  # data_wait_s: a timing, like epoch_s
    if parts.distiller is not None:  # train_loss then includes the RBD terms
        record[parts.task.rbd_record] = ce_sum / max(seen, 1)
    return record


class _TimedBatches:
    """An iterator of batches that adds up the time spent waiting for the next one."""

    def __init__(self, batches):
        self.batches, self.wait_s = iter(batches), 0.0

    def __iter__(self):
        return self

    def __next__(self):
        t0 = time.perf_counter()
        try:
            return next(self.batches)
        finally:
            self.wait_s += time.perf_counter() - t0


def check_finite_state(model: nn.Module, epoch: int, last_path: Path) -> None:
    """TrainingDiverged when a parameter or buffer is NaN/inf at the end of an epoch.

    The loss can stay finite while BatchNorm's running statistics turn NaN (a
    binary EfficientNet-B0 did: its eval-mode logits stopped depending on the
    input); such a state must not become the run's checkpoint.
    """
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise TrainingDiverged(f"{name} became NaN or infinite in epoch {epoch + 1}; "
                                   f"{_last_good(last_path)} (lower optim.lr or check the data)")


def _last_good(last_path: Path) -> str:
    if last_path.exists():
        return f"the last good checkpoint is {str(last_path)!r}"
    return "no checkpoint was written before it"


def _forward(cfg: RunConfig, parts: StepParts, x, y, device, acc):
    with autocast(device, cfg.amp):
        if parts.distiller is not None:
            loss, output, terms = parts.distiller(parts.net, x, y)
            acc[2] += terms[parts.task.rbd_part].detach().double() * x.shape[0]
        else:
            output = parts.net(x)
            loss = parts.task.loss(output, y)
    return loss, output


def _backward(parts: StepParts, loss) -> None:
    parts.optimizer.zero_grad(set_to_none=True)
    if parts.scaler is not None:
        parts.scaler.scale(loss).backward()
        parts.scaler.step(parts.optimizer)
        parts.scaler.update()
    else:
        loss.backward()
        parts.optimizer.step()
