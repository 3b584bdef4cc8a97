"""Where a run computes: the device, its threads, torchrun's process group, mixed precision."""
from __future__ import annotations

import contextlib

import torch

from dirnet.config import RunConfig
from dirnet.train.distributed import DistInfo, init_from_env


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


def setup_device(cfg: RunConfig) -> tuple[torch.device, DistInfo]:
    """The run's device and DDP rank (one GPU per rank under torchrun), threads set."""
    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    dist_info = init_from_env(device)
    if device.type == "cuda" and dist_info.enabled:
        device = torch.device("cuda", dist_info.local_rank)
        torch.cuda.set_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest conv
    return device, dist_info


def autocast(device: torch.device, amp: str | None):
    """bf16/fp16 autocast on CUDA when asked for; nothing otherwise."""
    if amp is None or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
