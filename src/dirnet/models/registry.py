"""Name -> builder registry for the model zoo (timm style).

Builders are plain functions ``builder(num_classes=10, in_channels=3, **options)``
that return a full-precision ``nn.Module``. Binarization is a separate step
(``dirnet.binarize``), so every builder describes the 32-bit architecture only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from torch import nn

Builder = Callable[..., nn.Module]
B = TypeVar("B", bound=Builder)

_REGISTRY: dict[str, Builder] = {}


class UnknownModelError(KeyError, ValueError):
    """Raised for an unregistered model name; catchable as KeyError or ValueError."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


def _normalise(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"model name must be a non-empty string, got {name!r}")
    return name.strip().lower().replace("-", "_")


def register(name: str, *, overwrite: bool = False) -> Callable[[B], B]:
    """Decorator that registers ``builder`` under ``name``.

    Example::

        @dirnet.models.register("my_net")
        def my_net(num_classes: int = 10, in_channels: int = 3, width: int = 16):
            ...

    Registering a name twice raises ValueError unless ``overwrite=True``, so two
    plug-ins cannot silently replace each other's models.
    """
    key = _normalise(name)

    def decorator(builder: B) -> B:
        if not callable(builder):
            raise TypeError(f"register({name!r}) expects a callable builder, got {builder!r}")
        if key in _REGISTRY and not overwrite and _REGISTRY[key] is not builder:
            raise ValueError(
                f"model {key!r} is already registered; pass overwrite=True to replace it"
            )
        _REGISTRY[key] = builder
        return builder

    return decorator


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_REGISTRY)


def get_builder(name: str) -> Builder:
    """The builder registered under ``name`` (UnknownModelError lists the choices)."""
    key = _normalise(name)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; available models: {', '.join(list_models())}"
        ) from None


def _accepted_options(builder: Builder) -> tuple[list[str], bool]:
    """Keyword names the builder accepts and whether it takes **kwargs."""
    params = inspect.signature(builder).parameters.values()
    names = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return names, var_kw


def create(name: str, num_classes: int = 10, **kwargs: object) -> nn.Module:
    """Build the full-precision model ``name`` with ``num_classes`` outputs.

    Unknown names raise ``UnknownModelError`` (a KeyError and a ValueError) that
    lists the registered names; unknown options raise TypeError naming the
    accepted ones, so a typo in a config file fails loudly instead of being ignored.
    """
    builder = get_builder(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    accepted, var_kw = _accepted_options(builder)
    if not var_kw:
        unknown = sorted(k for k in kwargs if k not in accepted)
        if unknown:
            options = ", ".join(a for a in accepted if a != "num_classes")
            raise TypeError(
                f"model {_normalise(name)!r} got unknown option(s) {', '.join(unknown)}; "
                f"accepted options: {options}"
            )
    model = builder(num_classes=num_classes, **kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"builder for {name!r} returned {type(model).__name__}, expected an nn.Module"
        )
    return model
