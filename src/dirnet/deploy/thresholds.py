"""BatchNorm + activation + the next layer's sign, folded into integer thresholds.

A binary conv's output channel is ``z = act(A * dot + B)`` (BN and the weight
scale folded into A, B) and the next binary layer only needs ``z >= thr``. As
``dot`` is an integer in [-K, K], the packed bit is a threshold test on ``dot``
itself: ``bit = (sgn * dot < T)``. A negative A flips the direction (sgn = -1);
A = 0 (gamma = 0) makes the bit constant. The thresholds are found by
evaluating the fp32 epilogue exactly as the native float path computes it
(``fma(A, dot, B)``, one rounding, as PyTorch's CPU BatchNorm) for every
possible dot, so both paths give the same bits; when the decision is not monotone in ``dot`` (a PReLU with a negative
slope, NaN parameters) no threshold exists and the caller keeps the float path.
"""
from __future__ import annotations

import numpy as np

from dirnet.deploy.reference import fma32


def _activation(z: np.ndarray, act: str, lo: float, hi: float, slope: np.ndarray | None) -> np.ndarray:
    if act == "hardtanh":
        return np.minimum(np.maximum(z, np.float32(lo)), np.float32(hi))
    if act == "relu":
        return np.where(z > 0, z, np.float32(0))
    if act == "prelu":
        assert slope is not None
        return np.where(z >= 0, z, z * slope[:, None].astype(np.float32))
    if act == "none":
        return z
    raise ValueError(f"unknown activation {act!r}")


def integer_thresholds(
    A: np.ndarray,
    B: np.ndarray,
    kbits: int,
    act: str = "none",
    lo: float = -1.0,
    hi: float = 1.0,
    thr: np.ndarray | None = None,
    slope: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(T, sgn)`` int32 per channel with ``bit(dot) = sgn * dot < T``, or None.

    The bit is 1 (meaning -1) where ``act(fma(A, dot, B)) < thr`` in fp32, for
    every integer dot in [-kbits, kbits].
    """
    A = np.asarray(A, np.float32)
    B = np.asarray(B, np.float32)
    oc = A.shape[0]
    t = np.zeros(oc, np.float32) if thr is None else np.asarray(thr, np.float32)
    d = np.arange(-kbits, kbits + 1, dtype=np.float32)
    z = fma32(A[:, None], d[None, :], B[:, None])
    z = _activation(z, act, lo, hi, slope)
    bit = ~(z >= t[:, None])     # NaN -> bit 1, like the kernels
    T = np.empty(oc, np.int64)
    sgn = np.ones(oc, np.int64)
    for c in range(oc):
        b = bit[c]
        ones = np.flatnonzero(b)
        if ones.size == 0:        # always +1
            T[c] = -kbits
            continue
        if ones.size == b.size:   # always -1
            T[c] = kbits + 1
            continue
        first, last = ones[0], ones[-1]
        if first == 0 and last == ones.size - 1:        # 1s then 0s: dot < T
            T[c] = -kbits + ones.size
        elif last == b.size - 1 and first == b.size - ones.size:  # 0s then 1s: dot > T'
            sgn[c] = -1
            T[c] = -(-kbits + first - 1)  # -dot < -(first dot - 1)
        else:
            return None
    return T.astype(np.int32), sgn.astype(np.int32)
