"""Argument checks shared by the builders, so bad options fail with a clear message."""

from __future__ import annotations


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1, else raise ValueError/TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def probability(name: str, value: object) -> float:
    """Return ``value`` as float if it lies in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def positive_float(name: str, value: object) -> float:
    """Return ``value`` as float if it is > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not float(value) > 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return float(value)


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def check_mobile_args(num_classes: object, in_channels: object, width_mult: object,
                      dropout: object, act: str, small_input: object) -> None:
    """The arguments MobileNet V1/V2 and EfficientNet share, checked once."""
    from .activation import check_activation

    positive_int("num_classes", num_classes)
    positive_int("in_channels", in_channels)
    positive_float("width_mult", width_mult)
    probability("dropout", dropout)
    check_activation(act)
    boolean("small_input", small_input)
