"""Channel rounding for width multipliers (MobileNet/EfficientNet convention)."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to a multiple of ``divisor``, never dropping more than 10%.

    Multiples of 8 keep channel counts friendly to vector units (and to the
    64-bit packing of binary kernels once they are multiples of 64).
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
