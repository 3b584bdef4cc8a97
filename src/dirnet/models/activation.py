"""Activation factory: one fresh module per position.

Binary networks use Hardtanh instead of ReLU: the next binary layer takes
sign() of its input, and sign(relu(x)) is +1 everywhere (sign(0) = +1 in this
project), which would erase all information. SiLU keeps the sign of its input,
so it is safe too. A new module is created on every call because converters
may replace activations per position (e.g. Hardtanh -> RPReLU for ReAct-Net).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_FACTORIES: dict[str, Callable[[], nn.Module]] = {
    "hardtanh": nn.Hardtanh,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "hardswish": nn.Hardswish,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}

ACTIVATIONS: tuple[str, ...] = tuple(sorted(_FACTORIES))


def check_activation(name: str) -> str:
    """Validate an activation name early (at build time, before any layer exists)."""
    if not isinstance(name, str) or name.lower() not in _FACTORIES:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return name.lower()


def make_activation(name: str) -> nn.Module:
    """A new activation module called ``name`` (see ``ACTIVATIONS``)."""
    return _FACTORIES[check_activation(name)]()


def conv_bn_act(c_in: int, c_out: int, kernel: int, stride: int, act: str) -> nn.Sequential:
    """Conv (no bias, 'same' padding for odd kernels) -> BatchNorm -> activation.

    The stems and heads of the MobileNets and EfficientNet; module names 0/1/2.
    """
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        make_activation(act),
    )
