"""The registry of deployment ops: one module per op family, each registering :class:`OpSpec` s.

``dirnet.deploy.exporter`` knows no op by itself: it looks ops up here (by
torch module type, function or tensor method). Reading a file op is the
native planner's (csrc/core/planner/, csrc/core/ops/*/*_graph.cpp). Adding an op on the Python side is one new module in this
package (listed in ``_MODULES`` below) that calls :func:`register`; see
docs/deploy.md, "Adding an op".
"""
from __future__ import annotations

import importlib
from typing import Any

from dirnet.deploy.ops.base import ExportError, OpSpec

__all__ = ["OpSpec", "ExportError", "register", "module_spec", "function_spec", "method_spec",
           "supported", "leaf_types", "specs"]

_SPECS: list[OpSpec] = []
_FUNCTIONS: dict[Any, OpSpec] = {}
_METHODS: dict[str, OpSpec] = {}
_by_type: dict[type, OpSpec] | None = None  # filled on first use (module types are imported lazily)


def register(spec: OpSpec) -> OpSpec:
    """Add ``spec`` to the registry (done by the op modules when they are imported)."""
    if any(s.name == spec.name for s in _SPECS):
        raise ValueError(f"op {spec.name!r} is registered twice")
    global _by_type
    _SPECS.append(spec)
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


# One module per op family; import order is registration order.
_MODULES = ("conv", "linear", "batchnorm", "add", "activations", "pooling", "flatten", "shortcut",
            "concat", "spatial", "unary", "mul")
for _m in _MODULES:
    importlib.import_module(f"{__name__}.{_m}")
