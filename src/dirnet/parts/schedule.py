"""The two-stage temperature schedule shared by IR-Net's EDE and DIR-Net's DTE."""
from __future__ import annotations

import math


def tanh_schedule(p: float, t_min: float, t_max: float) -> tuple[float, float]:
    """Return ``(t, k)`` at training progress ``p`` in [0, 1].

    ``t = T_min * 10 ** (p * log10(T_max / T_min))`` grows geometrically from
    T_min to T_max; ``k = max(1 / t, 1)`` keeps ``k * t = 1`` while ``t < 1``
    (stage 1: near-identity gradient, every latent value keeps updating) and
    ``k = 1`` afterwards (stage 2: the estimator sharpens toward sign).
    """
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"progress p must lie in [0, 1], got {p!r}")
    if not (0 < t_min <= t_max):
        raise ValueError(f"need 0 < t_min <= t_max, got t_min={t_min!r}, t_max={t_max!r}")
    t = t_min * 10.0 ** (p * math.log10(t_max / t_min))
    return t, max(1.0 / t, 1.0)
