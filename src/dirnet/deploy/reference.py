"""Slow numpy reference of the packed binary kernels (tests and documentation).

For the tests only: production code packs with :mod:`dirnet.deploy.bitpack`
(re-exported here so that the tests keep one namespace).

Bit convention: bit 1 = -1, bit 0 = +1; channel c lives in bit c % 64 of word
c // 64 (little-endian words); padding bits are 0. ``sign(0) = +1``.
"""
from __future__ import annotations

import numpy as np

from dirnet.deploy.bitpack import pack_signs, unpack_signs  # noqa: F401  (re-exported)


def fma32(a, b, c) -> np.ndarray:
    """``fma(a, b, c)`` in float32 with a single rounding, as the kernels' epilogue.

    The product of two float32 values is exact in float64; the float64 sum is
    then rounded twice (to float64, then to float32), which differs from one
    rounding only when the float64 sum lands exactly halfway between two
    float32 values. Its exact error (TwoSum) decides those ties.
    """
    a64, b64, c64 = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    with np.errstate(over="ignore", invalid="ignore"):
        p = a64 * b64
        s = p + c64
        bb = s - p
        err = (p - (s - bb)) + (c64 - bb)  # s + err == p + c exactly
        z = s.astype(np.float32)
        z64 = z.astype(np.float64)
        other = np.nextafter(z, np.where(s > z64, np.inf, -np.inf).astype(np.float32))
        tie = (s == (z64 + other.astype(np.float64)) / 2) & (err != 0)
        past = np.sign(err) == np.sign(other.astype(np.float64) - z64)
    return np.where(tie & past, other, z).astype(np.float32)


def signs(x: np.ndarray, thr: np.ndarray | None = None) -> np.ndarray:
    """+1 where x >= thr (thr defaults to 0), else -1, as float32."""
    t = 0.0 if thr is None else thr
    return np.where(x >= t, 1.0, -1.0).astype(np.float32)


def bconv2d_ref(
    x_signs: np.ndarray,
    w_signs: np.ndarray,
    stride: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilation: tuple[int, int] = (1, 1),
    pad_value: float = 1.0,
) -> np.ndarray:
    """Integer conv of +-1 NHWC input with +-1 OIHW weight, padded with ``pad_value``.

    pads = (top, left, bottom, right). Returns int64 NHWC.
    """
    n, h, w, c = x_signs.shape
    oc, _, kh, kw = w_signs.shape
    pt, pl, pb, pr = pads
    xp = np.full((n, h + pt + pb, w + pl + pr, c), pad_value, dtype=np.float64)
    xp[:, pt : pt + h, pl : pl + w] = x_signs
    sh, sw = stride
    dh, dw = dilation
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, oh, ow, oc), dtype=np.float64)
    wf = w_signs.astype(np.float64)
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, ky * dh : ky * dh + sh * (oh - 1) + 1 : sh, kx * dw : kx * dw + sw * (ow - 1) + 1 : sw]
            out += patch @ wf[:, :, ky, kx].T
    return np.rint(out).astype(np.int64)
