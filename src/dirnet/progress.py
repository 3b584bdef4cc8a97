"""``set_progress(model, p)``: drive every estimator schedule of a model at once."""
from __future__ import annotations

import math

from torch import nn

from dirnet.parts.estimators import GradientEstimator


def set_progress(model: nn.Module, p: float, epochs: int | None = None) -> None:
    """Set training progress ``p`` in [0, 1] on every gradient estimator in ``model``.

    Pass ``epochs`` (the run's total) and per-epoch estimators (IR-Net's EDE)
    round ``p`` down to the start of the current epoch; per-iteration ones
    (DTE by default) use ``p`` as given. The trainer calls this every step.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"set_progress() needs a torch.nn.Module, got {type(model).__name__}")
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise TypeError(f"progress must be a number in [0, 1], got {p!r}") from None
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"progress must lie in [0, 1], got {p!r}")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    for m in model.modules():
        if isinstance(m, GradientEstimator):
            m.set_progress(p, epochs)
