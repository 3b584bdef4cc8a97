"""Learning rate as a pure function of (epoch, step): nothing to save, exact on resume."""
from __future__ import annotations

import math

from dirnet.config import ScheduleConfig


def lr_at(sched: ScheduleConfig, base_lr: float, epoch_float: float) -> float:
    """LR at fractional epoch ``epoch_float`` (linear warm-up, then cosine/step/constant)."""
    warm = float(sched.warmup_epochs or 0)
    min_lr = float(sched.min_lr or 0.0)
    if warm > 0 and epoch_float < warm:
        return base_lr * (epoch_float + 1e-12) / warm
    if sched.name == "cosine":
        span = max(sched.epochs - warm, 1e-12)
        q = min(max((epoch_float - warm) / span, 0.0), 1.0)
        return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * q))
    if sched.name == "step":
        passed = sum(1 for m in sched.milestones if epoch_float >= m)
        return base_lr * (sched.gamma ** passed)
    return base_lr
