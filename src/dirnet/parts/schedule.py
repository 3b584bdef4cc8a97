"""The two-stage temperature schedule shared by IR-Net's EDE and DIR-Net's DTE."""
from __future__ import annotations

import math


def tanh_schedule(p: float, t_min: float, t_max: float) -> tuple[float, float]:
    """Return ``(t, k)`` at training progress ``p`` in [0, 1]: IR-Net's two-stage schedule.

        t(p) = t_min · 10^(p · log10(t_max / t_min))     geometric, t_min → t_max
        k(p) = max(1/t, 1)

    Stage 1 (t < 1): k·t = 1, so the estimator k·t·(1 − tanh²(t·x)) is a
    near-identity gradient and every latent value keeps updating. Stage 2
    (t ≥ 1): k = 1 and the estimator sharpens toward sign's derivative.

    Settings: ``t_min`` and ``t_max`` (0 < t_min ≤ t_max; IR-Net's code uses
    t_min = 1e-3 for ResNet-20, 1e-1 for VGG-Small, and t_max = 10). Callers
    decide how often p moves: once per epoch in IR-Net's code (verified),
    every iteration for DTE's default (this project's reconstruction).

    Reference: Qin, Gong, Liu, Shen, Wei, Yu, Song, "Forward and Backward
    Information Retention for Accurate Binary Neural Networks", CVPR 2020,
    arXiv:1909.10788
    """
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"progress p must lie in [0, 1], got {p!r}")
    if not (0 < t_min <= t_max):
        raise ValueError(f"need 0 < t_min <= t_max, got t_min={t_min!r}, t_max={t_max!r}")
    t = t_min * 10.0 ** (p * math.log10(t_max / t_min))
    return t, max(1.0 / t, 1.0)
