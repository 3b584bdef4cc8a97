"""A training run, driven entirely by its configuration: set-up, epochs, checkpoints, summary.

What a run directory holds::

    RUN/config.yaml            the resolved configuration
    RUN/metrics.jsonl          one JSON object per epoch
    RUN/checkpoints/last.pt    written atomically after every epoch (and on Ctrl-C)
    RUN/checkpoints/best.pt    only when a validation split is configured
    RUN/summary.json           final figures (test top-1 of the *final* epoch)
    RUN/tb/                    TensorBoard events, when tensorboard is installed

The step loop is :mod:`dirnet.train.epoch`, evaluation :mod:`dirnet.train.evaluation`,
the checkpoint schema :class:`dirnet.checkpoint.Checkpoint`.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dirnet import checkpoint as ckpt
from dirnet.build import build_model
from dirnet.config import RESUME_MAY_CHANGE, ConfigError, RunConfig, differences, dump
from dirnet.flips import SignFlipTracker
from dirnet.metrics import read_metrics
from dirnet.train.builders import build_optimizer
from dirnet.train.device import describe_device, setup_device
from dirnet.train.distributed import DistInfo, barrier, shutdown
from dirnet.train.epoch import EpochProgress, StepParts, train_epoch
from dirnet.train.metrics import MetricsLog
from dirnet.train.progress_log import ProgressLog
from dirnet.train.run_lock import run_lock
from dirnet.train.signals import RunInterrupted, StopRequest, stop_on_signal
from dirnet.train.task import Task, task_for


@dataclass
class _Run:
    """A run's built pieces: what the epoch loop and the checkpoints need."""

    cfg: RunConfig
    device: torch.device
    dist: DistInfo
    run_dir: Path
    bundle: Any  # dirnet.data.DataBundle
    parts: StepParts
    train_loader: Any
    test_loader: Any
    val_loader: Any
    flips: SignFlipTracker | None
    log: MetricsLog | None
    best_val: float = -1.0

    @property
    def last_path(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    def checkpoint(self, at: EpochProgress) -> dict[str, Any]:
        """The checkpoint of the run as it stands: ``at.step`` batches of ``at.epoch`` done."""
        mid_epoch = at.step > 0
        return ckpt.Checkpoint(
            model=self.parts.model.state_dict(), optimizer=self.parts.optimizer.state_dict(),
            epoch=at.epoch, step=at.step, rng=torch.get_rng_state(), config=self.cfg.to_dict(),
            best_val=self.best_val, num_classes=self.bundle.num_classes,
            in_channels=self.bundle.in_channels, image_size=self.bundle.image_size,
            class_names=list(self.bundle.class_names),
            epoch_sums=list(at.sums) if mid_epoch else [0.0, 0.0, 0.0],
            epoch_seen=at.seen if mid_epoch else 0,
            flip_signs=dict(self.flips.signs) if self.flips is not None else None).to_dict()


def train(cfg: RunConfig | dict[str, Any], *, resume: bool = False,
          run_dir: str | Path | None = None, max_epochs: int | None = None,
          stop_epoch: int | None = None) -> dict[str, Any]:
    """Train as ``cfg`` says; returns the final figures (also in RUN/summary.json).

    ``resume=True`` continues from RUN/checkpoints/last.pt exactly where it
    stopped (a run with no checkpoint yet starts from scratch); the run's
    saved config is authoritative and ``cfg`` may differ from it only in
    :data:`dirnet.config.RESUME_MAY_CHANGE`. ``max_epochs`` stops after that
    many epochs of this call (the run stays resumable), which is how tests
    interrupt a run; ``stop_epoch`` stops once that many epochs are done.
    SIGINT/SIGTERM stop at the next step boundary with a checkpoint
    (:mod:`dirnet.train.signals`) and raise ``RunInterrupted``.
    """
    cfg = cfg if isinstance(cfg, RunConfig) else RunConfig.from_dict(cfg)
    run_dir = Path(run_dir) if run_dir else Path(cfg.out_dir) / cfg.run_name
    with stop_on_signal() as stop:
        device, dist_info = setup_device(cfg)
        with run_lock(run_dir, enabled=dist_info.is_main):
            return _train(cfg, run_dir, device, dist_info, stop, resume=resume,
                          max_epochs=max_epochs, stop_epoch=stop_epoch)


def _train(cfg: RunConfig, run_dir: Path, device, dist_info: DistInfo, stop: StopRequest, *,
           resume: bool, max_epochs: int | None, stop_epoch: int | None) -> dict[str, Any]:
    last_path = run_dir / "checkpoints" / "last.pt"
    if resume and not last_path.exists():
        print(f"no checkpoint in {str(run_dir)!r} yet: starting the run from scratch", flush=True)
        resume = False
    if dist_info.is_main and last_path.exists() and not resume:
        raise FileExistsError(f"{str(run_dir)!r} already holds a run; pass --resume to continue "
                              f"it or choose another name= / out_dir=")
    state = ckpt.load(last_path, map_location=device) if resume else None
    epochs = cfg.schedule.epochs
    if state is not None:
        cfg = _resume_config(cfg, state, run_dir)
        if state["epoch"] >= min(epochs, stop_epoch or epochs):  # before building anything
            return _nothing_to_do(run_dir, state["epoch"], epochs)

    # The order below fixes what the seeded RNG draws (model init, teacher): keep it.
    torch.manual_seed(cfg.seed)
    task = task_for(cfg)
    bundle, train_set, val_set, test_set, augment = task.build_data(cfg)
    model = build_model(cfg, num_classes=bundle.num_classes, in_channels=bundle.in_channels,
                        image_size=bundle.image_size).to(device)
    if cfg.model.init and state is None:
        from dirnet.train.warm_start import warm_start

        init = cfg.model.init
        warm_start(model, cfg.distill.teacher if init == "teacher" else init, cfg)
    optimizer = build_optimizer(cfg.optim, model.parameters())
    at, best_val = EpochProgress(0), -1.0
    if state is not None:
        at, best_val = _restore(state, model, optimizer)
    last_epoch = min(epochs, stop_epoch or epochs,
                     at.epoch + max_epochs if max_epochs is not None else epochs)

    try:
        run = _assemble(cfg, task, device, dist_info, run_dir, bundle, model, optimizer,
                        (train_set, val_set, test_set, augment), at.epoch, resumed=state is not None)
        run.best_val = best_val
        if state is not None:
            if run.flips is not None and state.get("flip_signs") is not None:
                run.flips.signs = dict(state["flip_signs"])
            # Last: set-up (the teacher) draws from the RNG, a run in one go did so before it.
            torch.set_rng_state(state["rng"].cpu())
        _run_epochs(run, at, last_epoch, stop)
    except BaseException:
        if dist_info.is_main and not last_path.exists():  # failed before its first checkpoint
            _discard_unstarted(run_dir)
        raise
    return _summarize(run)


def _discard_unstarted(run_dir: Path) -> None:
    """Remove what a run that never wrote a checkpoint created (config, empty log)."""
    for name in ("config.yaml", "metrics.jsonl"):
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "tb", ignore_errors=True)
    with contextlib.suppress(OSError):
        (run_dir / "checkpoints").rmdir()  # only when empty


def _resume_config(cfg: RunConfig, state: dict[str, Any], run_dir: Path) -> RunConfig:
    """The run's own config, with at most :data:`RESUME_MAY_CHANGE` keys taken from ``cfg``."""
    saved = ckpt.config_of(state)
    diffs = differences(saved, cfg)
    refused = [d for d in diffs if not d[0].startswith(RESUME_MAY_CHANGE)]
    if refused:
        listed = "; ".join(f"{k}: {a!r} in the run, {b!r} now" for k, a, b in refused)
        raise ConfigError(f"cannot resume {str(run_dir)!r} with another config ({listed}); a run "
                          f"keeps its config: resume with --run-dir alone, or start a new run "
                          f"with another name=")
    for k, a, b in diffs:
        if k not in ("name", "out_dir"):
            print(f"resuming with {k}={b!r} (the run had {a!r})", flush=True)
    return cfg


def _nothing_to_do(run_dir: Path, done: int, epochs: int) -> dict[str, Any]:
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {
        "run_dir": str(run_dir), "epochs_done": done, "epochs": epochs, "test_top1": None}
    what = "is finished" if done >= epochs else f"has done {done} of {epochs} epochs"
    print(f"{str(run_dir)!r} {what}: nothing to do", flush=True)
    return summary


def _restore(state: dict[str, Any], model: nn.Module, optimizer) -> tuple[EpochProgress, float]:
    """Load a resumable checkpoint into ``model`` and ``optimizer``; where the run stood."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    at = EpochProgress(state["epoch"], state["step"])
    if state["step"]:
        at.sums = [float(v) for v in state.get("epoch_sums", [0.0, 0.0, 0.0])]
        at.seen = int(state.get("epoch_seen", 0))
    return at, state.get("best_val", -1.0)


def _assemble(cfg: RunConfig, task: Task, device, dist_info: DistInfo, run_dir: Path, bundle,
              model, optimizer, datasets, start_epoch: int, resumed: bool) -> _Run:
    """The teacher, DDP wrapper, loaders, metrics log and flip tracker of a run."""
    train_set, val_set, test_set, augment = datasets
    task.bind(model)
    distiller = None
    if cfg.distill.teacher and cfg.method != "fp":
        from dirnet.distill import RBDLoss
        from dirnet.train.teacher import load_teacher

        d = cfg.distill
        teacher = load_teacher(cfg, bundle.num_classes, bundle.in_channels, bundle.image_size,
                               device)
        distiller = RBDLoss(model, teacher, alpha=d.alpha, beta=d.beta, tau=d.tau,
                            layers=d.layers, **task.rbd_options())
    net: nn.Module = model
    if dist_info.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" and device.type == "cuda" else None
    parts = StepParts(model, net, optimizer, task, distiller, scaler)

    train_loader = task.build_loader(train_set, cfg, bundle, train=True, augment=augment,
                                     rank=dist_info.rank, world=dist_info.world_size, device=device)
    test_loader = task.build_loader(test_set, cfg, bundle, train=False, device=device) \
        if test_set is not None else None
    val_loader = task.build_loader(val_set, cfg, bundle, train=False, device=device) \
        if val_set is not None else None
    log = None
    if dist_info.is_main:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        if not resumed or not (run_dir / "config.yaml").exists():  # a resume never rewrites it
            (run_dir / "config.yaml").write_text(dump(cfg))
        log = MetricsLog(run_dir, tensorboard=cfg.log.tensorboard)
        log.truncate_after(start_epoch)
    flips = SignFlipTracker(model) if cfg.log.flips and cfg.method != "fp" else None
    return _Run(cfg, device, dist_info, run_dir, bundle, parts, train_loader, test_loader,
                val_loader, flips, log)


def _run_epochs(run: _Run, at: EpochProgress, last_epoch: int, stop: StopRequest) -> None:
    """Epochs ``at.epoch`` .. ``last_epoch - 1``; a stop request ends them with a checkpoint."""
    main = run.dist.is_main
    first_epoch, first_step = at.epoch, at.step
    progress = ProgressLog(run.cfg.schedule.epochs, run.cfg.log.every) \
        if main and run.cfg.log.progress else None
    try:
        for epoch in range(first_epoch, last_epoch):
            at.start(epoch, first_step if epoch == first_epoch else 0)
            t0 = time.perf_counter()
            try:
                record = train_epoch(run.cfg, run.parts, run.train_loader, run.device, at=at,
                                     last_path=run.last_path, progress=progress, stop=stop,
                                     distributed=run.dist.enabled)
            except RunInterrupted:
                if main:
                    ckpt.save_atomic(run.checkpoint(at), run.last_path)
                    _say_interrupted(run, at)
                raise
            record.update(_end_of_epoch(run))
            record["epoch_s"] = time.perf_counter() - t0
            if main:
                _save_epoch(run, record)
            barrier()
            if stop.agreed(run.dist.enabled, run.device) and epoch + 1 < last_epoch:
                if main:
                    _say_interrupted(run, EpochProgress(epoch + 1))
                raise RunInterrupted(f"stopped after epoch {epoch + 1}")
    finally:
        if run.log is not None:
            run.log.close()
        shutdown()


def _say_interrupted(run: _Run, at: EpochProgress) -> None:
    print(f"interrupted: resumable checkpoint at {str(run.last_path)!r} (epoch {at.epoch + 1}, "
          f"step {at.step}); continue with --resume", file=sys.stderr, flush=True)


def _end_of_epoch(run: _Run) -> dict[str, Any]:
    """Test and validation figures and the weight-sign flip ratio after an epoch."""
    out: dict[str, Any] = {}
    task = run.parts.task
    for split, loader, keys in (("test", run.test_loader, task.test_keys),
                                ("val", run.val_loader, task.val_keys)):
        if loader is not None:
            ev = task.evaluate(run.parts.model, loader, run.device, run.cfg.amp)
            out.update((f"{split}_{k}", ev[k]) for k in keys)
    if run.flips is not None:
        f = run.flips.update()
        out["flip_ratio"] = sum(f.values()) / max(len(f), 1)
        out["flip"] = f
    return out


def _save_epoch(run: _Run, record: dict[str, Any]) -> None:
    """Log the epoch, write last.pt (and best.pt on a better validation score), print a line."""
    epoch = record["epoch"]
    run.log.write(record)
    primary = run.parts.task.primary
    if run.val_loader is not None and record[f"val_{primary}"] > run.best_val:
        run.best_val = record[f"val_{primary}"]
        ckpt.save_atomic(run.checkpoint(EpochProgress(epoch + 1)),
                         run.run_dir / "checkpoints" / "best.pt")
    ckpt.save_atomic(run.checkpoint(EpochProgress(epoch + 1)), run.last_path)
    msg = f"epoch {epoch + 1}/{run.cfg.schedule.epochs}  loss {record['train_loss']:.4f}"
    if "train_top1" in record:
        msg += f"  train {record['train_top1']:.2f}%"
    what = {"top1": "%", "map50": " mAP@0.5"}[primary]
    if f"test_{primary}" in record:
        msg += f"  test {record[f'test_{primary}']:.2f}{what}"
    if f"val_{primary}" in record:
        msg += f"  val {record[f'val_{primary}']:.2f}{what}"
    print(msg + f"  ({record['epoch_s']:.0f}s, waiting for data "
                f"{100 * record['data_wait_s'] / max(record['epoch_s'], 1e-9):.0f}%)", flush=True)


def _summarize(run: _Run) -> dict[str, Any]:
    """The run's final figures, written to RUN/summary.json by the main process."""
    main = run.dist.is_main
    history = read_metrics(run.run_dir) if main else []
    cfg, primary = run.cfg, run.parts.task.primary
    summary = {"run_dir": str(run.run_dir), "epochs_done": history[-1]["epoch"] + 1 if history else 0,
               "epochs": cfg.schedule.epochs, "method": cfg.method, "arch": cfg.model.arch,
               "dataset": cfg.data.name, "final": history[-1] if history else None,
               f"test_{primary}": history[-1].get(f"test_{primary}") if history else None,
               f"best_val_{primary}": run.best_val if run.best_val >= 0 else None,
               "mean_epoch_s": (sum(h["epoch_s"] for h in history) / len(history))
               if history else None,
               "device": describe_device(run.device)}
    if main:
        (run.run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
