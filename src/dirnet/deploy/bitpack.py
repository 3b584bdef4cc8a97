"""Sign packing in the .dbnn bit convention (used by the exporter; the tests
unpack with :func:`unpack_signs`).

Bit 1 = -1, bit 0 = +1; channel c lives in bit c % 64 of little-endian word
c // 64; the padding bits of the last word are 0.
"""
from __future__ import annotations

import numpy as np


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
