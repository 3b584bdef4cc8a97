"""Name -> model registry for the model zoo (timm style).

A registered name maps to a model class (or a builder function) plus
``model_args``, the arguments that name fixes (``resnet20`` is ``CifarResNet``
with ``depth=20``). :func:`create` is the one generic builder: it passes
``num_classes`` and the user's options through as keyword arguments,
``target(num_classes=..., **model_args, **options)``, after checking the
options against the target's signature, so no model repeats its
constructor's signature in a builder function. Every target returns a
full-precision ``nn.Module``: binarization is a separate step
(``dirnet.binarize``), so the zoo describes the 32-bit architectures only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

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


class _FixedArgs:
    """``target`` with ``model_args`` fixed: what a name registered with model_args builds.

    Its signature is the target's without the fixed arguments, so they are not
    options of :func:`create` (``create("resnet20", depth=32)`` is an error).
    """

    def __init__(self, name: str, target: Builder, model_args: Mapping[str, Any]) -> None:
        sig = inspect.signature(target)
        unknown = sorted(set(model_args) - set(sig.parameters))
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            raise TypeError(f"register({name!r}): {getattr(target, '__name__', target)!r} has no "
                            f"argument(s) {', '.join(unknown)}")
        self.target = target
        self.model_args = dict(model_args)
        self.__name__ = name
        self.__doc__ = target.__doc__
        self.__signature__ = sig.replace(
            parameters=[p for p in sig.parameters.values() if p.name not in self.model_args],
            return_annotation=target if isinstance(target, type) else sig.return_annotation,
        )

    def __call__(self, **kwargs: Any) -> nn.Module:
        return self.target(**self.model_args, **kwargs)

    def same_as(self, other: object) -> bool:
        return (isinstance(other, _FixedArgs) and other.target is self.target
                and other.model_args == self.model_args)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.model_args.items())
        return f"<model {self.__name__!r}: {getattr(self.target, '__name__', self.target)}({args})>"


def register(
    name: str, *, overwrite: bool = False, model_args: Mapping[str, Any] | None = None
) -> Callable[[B], B]:
    """Decorator that registers a model class or a builder function under ``name``.

    ``create(name, num_classes, **options)`` then calls
    ``target(num_classes=num_classes, **model_args, **options)``. The options
    are the target's keyword parameters except ``num_classes`` and the names
    in ``model_args``, which are fixed for this name and are not options.
    The decorator returns the target unchanged. Examples::

        @dirnet.models.register("my_net")
        def my_net(num_classes: int = 10, in_channels: int = 3, width: int = 16):
            ...

        @dirnet.models.register("my_cnn")   # a class: its __init__ gives the options
        class MyCNN(nn.Module):
            def __init__(self, num_classes: int = 10, depth: int = 4, width: int = 16): ...

        dirnet.models.register("my_cnn8", model_args={"depth": 8})(MyCNN)  # depth fixed

    Registering a name twice raises ValueError unless ``overwrite=True``, so two
    plug-ins cannot silently replace each other's models.
    """
    key = _normalise(name)

    def decorator(builder: B) -> B:
        if not callable(builder):
            raise TypeError(f"register({name!r}) expects a callable builder, got {builder!r}")
        entry: Builder = _FixedArgs(key, builder, model_args) if model_args else builder
        old = _REGISTRY.get(key)
        same = old is entry or (isinstance(entry, _FixedArgs) and entry.same_as(old))
        if old is not None and not overwrite and not same:
            raise ValueError(
                f"model {key!r} is already registered; pass overwrite=True to replace it"
            )
        _REGISTRY[key] = entry
        return builder

    return decorator


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_REGISTRY)


def get_builder(name: str) -> Builder:
    """What ``name`` builds: the registered class or function, or (for a name registered
    with ``model_args``) a callable that fixes them; UnknownModelError lists the choices."""
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
