"""The registry of deployment ops: one module per op family, each registering :class:`OpSpec` s.

``dirnet.deploy.exporter`` and ``dirnet.deploy.planner`` know no op by
itself: they look ops up here (by file op name, torch module type, function or
tensor method). Adding an op on the Python side is one new module in this
package (listed in ``_MODULES`` below) that calls :func:`register`; see
docs/deploy.md, "Adding an op".
"""
from __future__ import annotations

import importlib
from typing import Any

from dirnet.deploy.ops.base import ExportError, OpSpec

__all__ = ["OpSpec", "ExportError", "register", "file_op", "module_spec", "function_spec", "method_spec",
           "known", "supported", "leaf_types", "specs"]

_SPECS: list[OpSpec] = []
BY_NAME: dict[str, OpSpec] = {}  # file op name -> spec
_FUNCTIONS: dict[Any, OpSpec] = {}
_METHODS: dict[str, OpSpec] = {}
_by_type: dict[type, OpSpec] | None = None  # filled on first use (module types are imported lazily)


def register(spec: OpSpec) -> OpSpec:
    """Add ``spec`` to the registry (done by the op modules when they are imported)."""
    if any(s.name == spec.name for s in _SPECS):
        raise ValueError(f"op {spec.name!r} is registered twice")
    global _by_type
    _SPECS.append(spec)
    if spec.is_file_op:
        BY_NAME[spec.name] = spec
    for f in spec.functions:
        if f in _FUNCTIONS:
            raise ValueError(f"function {f!r} is claimed by {_FUNCTIONS[f].name!r} and {spec.name!r}")
        _FUNCTIONS[f] = spec
    for name in spec.methods:
        if name in _METHODS:
            raise ValueError(f"method {name!r} is claimed by {_METHODS[name].name!r} and {spec.name!r}")
        _METHODS[name] = spec
    _by_type = None
    return spec


def specs() -> list[OpSpec]:
    """Every spec, in registration order."""
    return list(_SPECS)


def _types() -> dict[type, OpSpec]:
    global _by_type
    if _by_type is None:
        table: dict[type, OpSpec] = {}
        for spec in _SPECS:
            for t in spec.modules() if spec.modules is not None else ():
                if t in table:
                    raise ValueError(f"module type {t.__name__} is claimed by {table[t].name!r} and {spec.name!r}")
                table[t] = spec
        _by_type = table
    return _by_type


def module_spec(m: Any) -> OpSpec | None:
    """The spec of module ``m``: the one registered for its class or its nearest registered base."""
    table = _types()
    for cls in type(m).__mro__:
        spec = table.get(cls)
        if spec is not None:
            return spec
    return None


def function_spec(f: Any) -> OpSpec | None:
    try:
        return _FUNCTIONS.get(f)
    except TypeError:  # unhashable target
        return None


def method_spec(name: Any) -> OpSpec | None:
    return _METHODS.get(name) if isinstance(name, str) else None


def file_op(name: str) -> OpSpec | None:
    return BY_NAME.get(name)


def known() -> tuple[str, ...]:
    """The file ops this dirnet reads: conv-like ops, activations, then the rest (registration order)."""
    ops = [s for s in _SPECS if s.is_file_op]
    order = {"conv": 0, "act": 1}
    return tuple(s.name for s in sorted(ops, key=lambda s: order.get(s.role, 2)))


def supported() -> str:
    """The list of what can be exported, as ExportError messages print it."""
    mods = [s.supports for s in sorted(_SPECS, key=lambda s: s.doc_order) if s.supports]
    calls = [s.supports_calls for s in sorted(_SPECS, key=lambda s: s.calls_order) if s.supports_calls]
    return ", ".join(mods) + ", " + "/".join(calls) + " functions"


def leaf_types() -> tuple[type, ...]:
    """dirnet's own layers, which torch.fx must keep as single nodes."""
    out: list[type] = []
    for spec in _SPECS:
        if spec.leaf and spec.modules is not None:
            out.extend(spec.modules())
    return tuple(out)


# One module per op family; import order is registration order (it fixes the
# order of ``known()`` within each role).
_MODULES = ("conv", "linear", "input", "batchnorm", "add", "activations", "pooling", "flatten", "shortcut",
            "concat", "spatial", "unary", "mul")
for _m in _MODULES:
    importlib.import_module(f"{__name__}.{_m}")
