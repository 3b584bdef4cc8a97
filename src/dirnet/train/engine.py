"""The training loop: one function, driven entirely by the run configuration.

What a run directory holds::

    RUN/config.yaml            the resolved configuration
    RUN/metrics.jsonl          one JSON object per epoch
    RUN/checkpoints/last.pt    written atomically after every epoch (and on Ctrl-C)
    RUN/checkpoints/best.pt    only when a validation split is configured
    RUN/summary.json           final figures (test top-1 of the *final* epoch)
    RUN/tb/                    TensorBoard events, when tensorboard is installed
"""
from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import dirnet
from dirnet.train import checkpoint as ckpt
from dirnet.train.builders import build_data, build_loader, build_model, build_optimizer
from dirnet.train.config import dump, run_name
from dirnet.train.distributed import all_reduce_sum, barrier, init_from_env, shutdown
from dirnet.train.flips import SignFlipTracker
from dirnet.train.lr import lr_at
from dirnet.train.metrics import MetricsLog, read_metrics


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@contextlib.contextmanager
def _interruptible():
    """SIGINT and SIGTERM raise KeyboardInterrupt while training.

    A job started in the background (nohup ... &) inherits an ignored SIGINT,
    and schedulers stop jobs with SIGTERM: both should leave a resumable
    checkpoint, not a lost epoch.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


#: On a GPU, check the loss for NaN/Inf every this many steps (each check syncs).
CHECK_EVERY_CUDA = 50


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda requested but CUDA is not available (use device=cpu or auto)")
    return dev


def describe_device(device: torch.device) -> str:
    """``cpu (N threads)`` or ``cuda (GPU name)``: recorded with a run's figures."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def _autocast(device: torch.device, amp: str | None):
    if amp is None or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


@torch.no_grad()
def evaluate(model: nn.Module, loader, device: torch.device, amp: str | None = None,
             dist_reduce: bool = True) -> dict[str, float]:
    """Top-1, top-5 (in %) and mean cross-entropy of ``model`` over ``loader``."""
    model.eval()
    n = loss_sum = c1 = c5 = 0.0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, amp):
            z = model(x)
        z = z.float()
        loss_sum += F.cross_entropy(z, y, reduction="sum").item()
        top = z.topk(min(5, z.shape[1]), dim=1).indices
        c1 += (top[:, 0] == y).sum().item()
        c5 += (top == y[:, None]).any(dim=1).sum().item()
        n += y.numel()
    if dist_reduce:
        n, loss_sum, c1, c5 = all_reduce_sum([n, loss_sum, c1, c5], device)
    return {"loss": loss_sum / max(n, 1), "top1": 100.0 * c1 / max(n, 1),
            "top5": 100.0 * c5 / max(n, 1)}


def _load_teacher(cfg, num_classes, in_channels, image_size, device):
    path = cfg["distill"]["teacher"]
    tck = ckpt.load(path)
    tcfg = tck["config"]
    if tcfg["method"] != "fp":
        raise ValueError(f"teacher {path!r} is a {tcfg['method']!r} model; RBD needs a full-precision teacher")
    if tcfg["model"]["arch"] != cfg["model"]["arch"]:
        raise ValueError(f"teacher arch {tcfg['model']['arch']!r} differs from the student's "
                         f"{cfg['model']['arch']!r}; RBD aligns same-named layers")
    trained_for = (tck["num_classes"], tck["in_channels"], tck.get("image_size", 32))
    if trained_for != (num_classes, in_channels, image_size):
        raise ValueError(f"teacher {path!r} was trained for (classes, channels, image size) "
                         f"{trained_for}; this run has {(num_classes, in_channels, image_size)}")
    return ckpt.model_from(tck).to(device)


def train(cfg: dict[str, Any], *, resume: bool = False, run_dir: str | Path | None = None,
          max_epochs: int | None = None, stop_epoch: int | None = None) -> dict[str, Any]:
    """Train as ``cfg`` says; returns the final figures (also in RUN/summary.json).

    ``resume=True`` continues from RUN/checkpoints/last.pt exactly where it
    stopped. ``max_epochs`` stops after that many epochs of this call (the
    run stays resumable), which is how tests interrupt a run.
    """
    device = resolve_device(cfg["device"])
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg["threads"]))
    dist_info = init_from_env(device)
    if device.type == "cuda" and dist_info.enabled:
        device = torch.device("cuda", dist_info.local_rank)
        torch.cuda.set_device(device)
    main = dist_info.is_main
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest conv
    run_dir = Path(run_dir) if run_dir else Path(cfg["out_dir"]) / run_name(cfg)
    last_path = run_dir / "checkpoints" / "last.pt"
    if main and last_path.exists() and not resume:
        raise FileExistsError(f"{str(run_dir)!r} already holds a run; pass --resume to continue "
                              f"it or choose another name= / out_dir=")
    if resume and not last_path.exists():
        raise FileNotFoundError(f"cannot resume: {str(last_path)!r} does not exist")

    torch.manual_seed(cfg["seed"])
    bundle, train_set, val_set, test_set, augment = build_data(cfg)
    image_size = bundle.image_size
    model = build_model(cfg, num_classes=bundle.num_classes, in_channels=bundle.in_channels,
                        image_size=image_size).to(device)
    if cfg["model"].get("init") and not resume:
        from dirnet.train.warm_start import warm_start

        init = cfg["model"]["init"]
        warm_start(model, cfg["distill"]["teacher"] if init == "teacher" else init, cfg)
    optimizer = build_optimizer(cfg, model.parameters())
    epochs = cfg["schedule"]["epochs"]
    start_epoch, start_step, best_val = 0, 0, -1.0
    if resume:
        state = ckpt.load(last_path, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"].cpu())
        start_epoch, start_step = state["epoch"], state["step"]
        best_val = state.get("best_val", -1.0)
    if start_epoch >= min(epochs, stop_epoch or epochs):
        return json.loads((run_dir / "summary.json").read_text())

    distiller = None
    if cfg["distill"]["teacher"] and cfg["method"] != "fp":
        from dirnet.distill import RBDLoss

        d = cfg["distill"]
        teacher = _load_teacher(cfg, bundle.num_classes, bundle.in_channels, image_size, device)
        distiller = RBDLoss(model, teacher, alpha=d["alpha"], beta=d["beta"], tau=d["tau"],
                            layers=d["layers"])

    net: nn.Module = model
    if dist_info.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    scaler = torch.amp.GradScaler("cuda") if cfg["amp"] == "fp16" and device.type == "cuda" else None

    train_loader = build_loader(train_set, cfg, bundle, train=True, augment=augment,
                                rank=dist_info.rank, world=dist_info.world_size)
    test_loader = build_loader(test_set, cfg, bundle, train=False) if test_set is not None else None
    val_loader = build_loader(val_set, cfg, bundle, train=False) if val_set is not None else None

    log = None
    if main:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(dump(cfg))
        log = MetricsLog(run_dir, tensorboard=cfg["log"]["tensorboard"])
        log.truncate_after(start_epoch)
    flips = SignFlipTracker(model) if cfg["log"]["flips"] and cfg["method"] != "fp" else None
    base_lr = cfg["optim"]["lr"]
    steps = len(train_loader)

    def state(epoch: int, step: int) -> dict[str, Any]:
        return {"format": ckpt.FORMAT, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "epoch": epoch, "step": step,
                "rng": torch.get_rng_state(), "config": cfg, "best_val": best_val,
                "num_classes": bundle.num_classes, "in_channels": bundle.in_channels,
                "image_size": image_size, "class_names": list(bundle.class_names)}

    from tqdm.auto import tqdm

    epoch, step, record = start_epoch, start_step, None
    try:
        with _interruptible():
            for epoch in range(start_epoch, epochs):
                if max_epochs is not None and epoch - start_epoch >= max_epochs:
                    break
                if stop_epoch is not None and epoch >= stop_epoch:
                    break
                t0 = time.perf_counter()
                net.train()
                if distiller is not None:
                    distiller.train()
                train_loader.set_epoch(epoch)
                first = start_step if epoch == start_epoch else 0
                # Running sums stay on the device: a .item() per step would
                # stall a GPU's queue. The finiteness check syncs every step on
                # CPU (free there) and every CHECK_EVERY_CUDA steps on a GPU.
                acc = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, ce
                seen = 0
                check_every = CHECK_EVERY_CUDA if device.type == "cuda" else 1
                bar = tqdm(train_loader.iter_from(first), total=steps, initial=first,
                           desc=f"epoch {epoch + 1}/{epochs}", leave=False,
                           disable=not (main and cfg["log"]["progress"]) or None)
                for step, (x, y) in enumerate(bar, start=first):
                    frac = (epoch + step / steps) / epochs
                    dirnet.set_progress(model, frac, epochs=epochs)
                    lr = lr_at(cfg["schedule"], base_lr, epoch + step / steps)
                    for g in optimizer.param_groups:
                        g["lr"] = lr
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    with _autocast(device, cfg["amp"]):
                        if distiller is not None:
                            loss, logits, parts = distiller(net, x, y)
                            acc[2] += parts["ce"].detach().double() * y.numel()
                        else:
                            logits = net(x)
                            loss = F.cross_entropy(logits, y)
                    acc[0] += loss.detach().double() * y.numel()
                    acc[1] += (logits.detach().argmax(1) == y).sum()
                    seen += y.numel()
                    if (step + 1) % check_every == 0 and not torch.isfinite(acc[0]):
                        raise TrainingDiverged(
                            f"the loss became {float(loss.detach())} at epoch {epoch + 1}, step {step} or up to "
                            f"{check_every - 1} steps before; the last good checkpoint is "
                            f"{str(last_path)!r} (lower optim.lr or check the data)")
                    optimizer.zero_grad(set_to_none=True)
                    if scaler is not None:
                        scaler.scale(loss).backward()
                        scaler.step(optimizer)
                        scaler.update()
                    else:
                        loss.backward()
                        optimizer.step()
                    if main and cfg["log"]["progress"] and step % 20 == 0:
                        bar.set_postfix(loss=f"{float(acc[0]) / seen:.3f}", lr=f"{lr:.4f}")
                if not torch.isfinite(acc[0]):
                    raise TrainingDiverged(
                        f"the loss became non-finite in epoch {epoch + 1}; the last good checkpoint "
                        f"is {str(last_path)!r} (lower optim.lr or check the data)")
                loss_sum, correct, ce_sum = acc.tolist()
                step = 0
                seen, loss_sum, correct, ce_sum = all_reduce_sum(
                    [seen, loss_sum, correct, ce_sum], device)
                record = {"epoch": epoch, "train_loss": loss_sum / max(seen, 1),
                          "train_top1": 100.0 * correct / max(seen, 1), "lr": lr}
                if distiller is not None:  # train_loss then includes the RBD terms
                    record["train_ce"] = ce_sum / max(seen, 1)
                if test_loader is not None:
                    ev = evaluate(model, test_loader, device, cfg["amp"], dist_reduce=False)
                    record.update(test_loss=ev["loss"], test_top1=ev["top1"], test_top5=ev["top5"])
                if val_loader is not None:
                    ev = evaluate(model, val_loader, device, cfg["amp"], dist_reduce=False)
                    record.update(val_loss=ev["loss"], val_top1=ev["top1"])
                if flips is not None:
                    f = flips.update()
                    record["flip_ratio"] = sum(f.values()) / max(len(f), 1)
                    record["flip"] = f
                record["epoch_s"] = time.perf_counter() - t0
                if main:
                    log.write(record)
                    ckpt.save_atomic(state(epoch + 1, 0), last_path)
                    if val_loader is not None and record["val_top1"] > best_val:
                        best_val = record["val_top1"]
                        ckpt.save_atomic(state(epoch + 1, 0), run_dir / "checkpoints" / "best.pt")
                    msg = (f"epoch {epoch + 1}/{epochs}  loss {record['train_loss']:.4f}  "
                           f"train {record['train_top1']:.2f}%")
                    if "test_top1" in record:
                        msg += f"  test {record['test_top1']:.2f}%"
                    if "val_top1" in record:
                        msg += f"  val {record['val_top1']:.2f}%"
                    print(msg + f"  ({record['epoch_s']:.0f}s)", flush=True)
                barrier()
    except KeyboardInterrupt:
        if main:
            ckpt.save_atomic(state(epoch, step), last_path)
            print(f"\ninterrupted: resumable checkpoint at {str(last_path)!r} "
                  f"(epoch {epoch + 1}, step {step}); continue with --resume", flush=True)
        raise
    finally:
        if log is not None:
            log.close()
        shutdown()

    history = read_metrics(run_dir) if main else []
    done = history[-1]["epoch"] + 1 if history else 0
    summary = {"run_dir": str(run_dir), "epochs_done": done, "epochs": epochs,
               "method": cfg["method"], "arch": cfg["model"]["arch"], "dataset": cfg["data"]["name"],
               "final": history[-1] if history else None,
               "test_top1": history[-1].get("test_top1") if history else None,
               "best_val_top1": best_val if best_val >= 0 else None,
               "mean_epoch_s": (sum(h["epoch_s"] for h in history) / len(history)) if history else None,
               "device": describe_device(device)}
    if main:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
