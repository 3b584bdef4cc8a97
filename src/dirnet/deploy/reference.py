"""Slow numpy reference of the packed binary kernels (tests and documentation).

Bit convention: bit 1 = -1, bit 0 = +1; channel c lives in bit c % 64 of word
c // 64 (little-endian words); padding bits are 0. ``sign(0) = +1``.
"""
from __future__ import annotations

import numpy as np


def signs(x: np.ndarray, thr: np.ndarray | None = None) -> np.ndarray:
    """+1 where x >= thr (thr defaults to 0), else -1, as float32."""
    t = 0.0 if thr is None else thr
    return np.where(x >= t, 1.0, -1.0).astype(np.float32)


def pack_signs(s: np.ndarray) -> np.ndarray:
    """Pack a +-1 array along its last axis into uint64 words (bit 1 = -1)."""
    s = np.asarray(s)
    c = s.shape[-1]
    words = (c + 63) // 64
    bits = np.zeros(s.shape[:-1] + (words * 64,), dtype=np.uint8)
    bits[..., :c] = s < 0
    by = np.packbits(bits, axis=-1, bitorder="little")
    return np.ascontiguousarray(by).view(np.uint64).reshape(s.shape[:-1] + (words,))


def unpack_signs(words: np.ndarray, c: int) -> np.ndarray:
    """Inverse of :func:`pack_signs` (float32 +-1, last axis ``c``)."""
    by = np.ascontiguousarray(words).view(np.uint8)
    bits = np.unpackbits(by, axis=-1, bitorder="little")[..., :c]
    return np.where(bits == 1, -1.0, 1.0).astype(np.float32)


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
