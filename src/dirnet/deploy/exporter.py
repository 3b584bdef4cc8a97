"""``export(model, path)``: trace a (binary) model with torch.fx and write a .dbnn file.

What happens to each part:

* BinaryConv2d / BinaryLinear: ``signs, scale = layer.binary_weight()`` are
  packed to 1 bit per weight (``[out, kh, kw, words]`` uint64, bit 1 = -1);
  ``scale``, the bias and the input threshold (RSign) stay fp32 vectors.
* BatchNorm (eval mode) becomes a per-channel affine ``A * x + B`` with
  ``A = gamma / sqrt(var + eps)``, ``B = beta - mean * A`` (folded in fp64,
  stored fp32); the runtime folds it further into the preceding conv's
  epilogue or into integer thresholds.
* Full-precision Conv2d / Linear weights are stored in ``precision`` (fp16 by
  default, fp32 for exact logits); biases and per-channel vectors stay fp32
  (they are tiny and rounding them would move many signs), and so do the
  weights of convolutions that read the network input (the stem: a few KB,
  and its rounding would reach every binary layer's signs).

Unsupported modules or functions raise :class:`ExportError` naming the op.

What each torch module, function or method becomes is not written here: it is
looked up in the op registry, :mod:`dirnet.deploy.ops` (one module per op
family). This file traces, walks the graph and writes the file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from dirnet.deploy import fileformat, ops
from dirnet.deploy.ops.base import ExportError, np32
from dirnet.deploy.ops.batchnorm import bn_affine

__all__ = ["export", "ExportError", "bn_affine", "SUPPORTED"]

# What the native runtime supports, as error messages list it (built from the op registry;
# the messages call ops.supported(), which also lists ops registered later).
SUPPORTED = ops.supported()


def _leaf_types() -> tuple[type, ...]:
    return ops.leaf_types()


class _Tracer(fx.Tracer):
    """Keeps dirnet's layers as single nodes (their internals are not graph ops)."""

    def __init__(self, leaves: tuple[type, ...]):
        super().__init__()
        self._leaves = leaves

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, self._leaves) or super().is_leaf_module(m, qualname)


class _GraphWriter:
    def __init__(self, precision: str, act_scales: dict[nn.Module, float] | None = None,
                 quantize_stem: bool = True):
        self.precision = precision
        self._act_scales = act_scales or {}
        self._quantize_stem = quantize_stem
        self.ops: list[dict[str, Any]] = []
        self._pure: dict[tuple[str, tuple[str, ...], str], str] = {}  # tensorless op -> its value
        self.tensors: dict[str, np.ndarray] = {}
        self.values: dict[fx.Node, str] = {}
        self.rank: dict[str, int] = {}
        self.names: set[str] = set()
        self.n = 0
        self.input_value: str | None = None

    # -- helpers
    def new_value(self, rank: int) -> str:
        self.n += 1
        v = f"v{self.n}"
        self.rank[v] = rank
        return v

    def unique(self, name: str) -> str:
        base, i = name or "op", 1
        while name in self.names or not name:
            i += 1
            name = f"{base}#{i}"
        self.names.add(name)
        return name

    def tensor(self, opname: str, key: str, arr: np.ndarray) -> str:
        name = f"{opname}.{key}"
        arr = np.ascontiguousarray(arr)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            # (a diverged run: NaN BatchNorm statistics gave input-independent PyTorch logits
            # and a file that could not match them)
            raise ExportError(f"{key} of {opname!r} holds NaN or infinite values: the model "
                              "diverged in training; there is nothing sound to export")
        self.tensors[name] = arr
        return name

    def act_scale(self, m: nn.Module, x: str) -> float | None:
        """int8 export: the calibrated input scale of ``m`` applied to value ``x`` (None: not
        quantized; also for a layer reading the network input when the stem stays full precision)."""
        if x == self.input_value and not self._quantize_stem:
            return None
        return self._act_scales.get(m)

    def fp_weight(self, opname: str, w: torch.Tensor, keep_fp32: bool = False) -> str:
        a = np32(w)
        # int8 files store the full-precision weights they keep (grouped convs) as fp16 does
        if self.precision in ("fp16", "int8") and not keep_fp32:
            h = a.astype(np.float16)
            if not np.isfinite(h).all() and np.isfinite(a).all():
                raise ExportError(f"weights of {opname!r} overflow fp16; export with precision='fp32'")
            a = h
        return self.tensor(opname, "weight", a)

    def emit(self, op: str, name: str, inputs: list[str], rank: int, attrs=None, tensors=None) -> str:
        # An op without tensors is a pure function of its inputs and attributes: a second
        # identical one (DARTS applies the same hardtanh to a cell state once per consumer)
        # reuses the first one's value instead of computing it again.
        key = None
        if not tensors:
            key = (op, tuple(inputs), json.dumps(attrs or {}, sort_keys=True))
            if key in self._pure:
                return self._pure[key]
        out = self.new_value(rank)
        self.ops.append({"op": op, "name": name, "inputs": inputs, "output": out,
                         "attrs": attrs or {}, "tensors": tensors or {}})
        if key is not None:
            self._pure[key] = out
        return out

    def arg(self, node: Any, where: str) -> str:
        if not isinstance(node, fx.Node) or node not in self.values:
            raise ExportError(f"{where}: only tensors computed by the model can be used here, got {node!r}")
        return self.values[node]

    # -- modules, functions and methods: dispatched through the op registry (dirnet.deploy.ops)
    def module(self, node: fx.Node, m: nn.Module) -> str:
        qual = str(node.target)
        name = self.unique(qual)
        if len(node.args) != 1 or node.kwargs:
            raise ExportError(f"module {qual!r} ({type(m).__name__}) must be called with one tensor")
        x = self.arg(node.args[0], qual)
        spec = ops.module_spec(m)
        if spec is None or spec.write_module is None:
            raise ExportError(
                f"cannot export module {qual!r} of type {type(m).__name__}: the native runtime supports {ops.supported()}"
            )
        return spec.write_module(self, node, m, name, x)

    def function(self, node: fx.Node) -> str:
        f = node.target
        fname = getattr(f, "__name__", str(f))
        name = self.unique(node.name)
        args, kwargs = node.args, dict(node.kwargs)
        if node.op == "call_method":
            x = self.arg(args[0], fname)
            spec = ops.method_spec(f)
            out = spec.write_method(self, name, x, args, kwargs, fname) \
                if spec is not None and spec.write_method is not None else None
            if out is None:
                raise ExportError(f"cannot export method call .{f}() ({node.name}): supported are {ops.supported()}")
            return out
        spec = ops.function_spec(f)
        if spec is not None and spec.write_call is None:
            spec = None
        if spec is not None and spec.raw_args:
            out = spec.write_call(self, name, None, args, kwargs, fname)
            if out is not None:
                return out
        x = self.arg(args[0], fname) if args else None
        if spec is not None and not spec.raw_args and x is not None:
            out = spec.write_call(self, name, x, args, kwargs, fname)
            if out is not None:
                return out
        raise ExportError(f"cannot export function {fname} ({node.name}): supported are {ops.supported()}")


def _first_conv_channels(model: nn.Module) -> int | None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return int(m.in_channels)
    return None


def _check_modules(gm: fx.GraphModule) -> None:
    """Name the first unsupported module before anything runs (clearer than a shape error)."""
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        m = modules[node.target]
        spec = ops.module_spec(m)
        if spec is None:
            raise ExportError(f"cannot export module {node.target!r} of type {type(m).__name__}: "
                              f"the native runtime supports {ops.supported()}")
        if spec.check_module is not None:
            spec.check_module(node.target, m)


def _shape_prop(gm: fx.GraphModule, input_size: tuple[int, int, int] | None, channels: int | None):
    from torch.fx.passes.shape_prop import ShapeProp

    if input_size is not None:
        candidates = [tuple(int(v) for v in input_size)]
    elif channels is not None:
        candidates = [(channels, s, s) for s in (32, 224, 28, 64, 96)]
    else:
        raise ExportError("cannot tell the model's input channels: pass input_size=(C, H, W)")
    last: Exception | None = None
    for size in candidates:
        x = torch.randn((1, *size), generator=torch.Generator().manual_seed(0))
        try:
            with torch.no_grad():
                ShapeProp(gm).propagate(x)
            return size
        except Exception as exc:  # noqa: BLE001 - any failure means: try the next size
            last = exc
    raise ExportError(f"the model does not run on inputs of size {candidates}: {last}; pass input_size=(C, H, W)")


def _graph_outputs(writer: _GraphWriter, out: Any):
    """What forward returns: (value, None, None) for one tensor, else (None,
    [{"name", "value"}, ...], "tuple" | "list" | "dict") for a flat tuple, list
    or dict of tensors (names: the index as a string, or the dict key)."""
    if isinstance(out, fx.Node):
        return writer.arg(out, "output"), None, None
    if isinstance(out, (tuple, list)):
        structure, items = ("tuple" if isinstance(out, tuple) else "list"), [(str(i), v) for i, v in enumerate(out)]
    elif isinstance(out, dict):
        structure, items = "dict", list(out.items())
        bad = [k for k, _ in items if not isinstance(k, str)]
        if bad:
            raise ExportError(f"the model returns a dict with key {bad[0]!r}: output names must be strings")
    else:
        raise ExportError(f"the model must return a tensor, or a tuple, list or dict of tensors; got {out!r}")
    if not items:
        raise ExportError(f"the model returns an empty {structure}: nothing to export")
    outputs = []
    for name, v in items:
        if not isinstance(v, fx.Node):
            raise ExportError(f"output {name!r}: only tensors computed by the model can be returned "
                              f"(nested tuples, lists and dicts are not supported), got {type(v).__name__}")
        outputs.append({"name": name, "value": writer.arg(v, f"output {name!r}")})
    return None, outputs, structure


def export(
    model: nn.Module,
    path: str | os.PathLike,
    precision: str = "fp16",
    input_size: tuple[int, int, int] | None = None,
    class_names: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    *,
    extra_tensors: dict[str, np.ndarray] | None = None,
    architecture: str | None = None,
    calibration: Any = None,
    calibration_estimator: str = "mse",
    quantize_stem: bool | str = "auto",
) -> Path:
    """Write ``model`` (eval-mode semantics) as a packed .dbnn file; returns the path.

    ``precision`` ("fp16" default, or "fp32") is the storage type of the
    full-precision conv/linear weights. ``input_size`` (C, H, W) is stored as
    a hint (and used to trace shapes); by default it is guessed from the first
    conv. ``class_names`` are stored for ``dirnet eval`` and demos; ``extra``
    (JSON-serialisable) adds header entries, e.g. ``{"data": {...}}`` (the
    training data set that ``dirnet eval model.dbnn`` reads). ``extra_tensors``
    are stored beside the graph's (e.g. a detector's anchors), and
    ``architecture`` replaces the recorded class name (of a wrapper, say).

    ``precision="int8"`` quantizes every full-precision Conv2d (groups 1) and
    Linear to int8 (per-output-channel weights, a calibrated per-tensor input
    scale; :mod:`dirnet.deploy.calibrate`, docs/deploy.md "int8") and needs
    ``calibration``: an iterable of input batches (tensors (N, C, H, W), or
    tuples whose first element is one) from the training data, run through
    the model in eval mode; ``calibration_estimator`` is "mse" (default) or
    "max". ``quantize_stem`` decides the layers that read the network input:
    ``"auto"`` (default) makes them int8 only if that changes the top-1 class
    of at most 0.5% of 256 calibration images (binary networks can be very
    sensitive to the stem's rounding: :func:`dirnet.deploy.calibrate.stem_decision`),
    ``True`` always, ``False`` never (fp32). Binary layers are unchanged;
    grouped convs keep fp16 weights.
    """
    if precision not in ("fp16", "fp32", "int8"):
        raise ValueError(f"precision must be 'fp16', 'fp32' or 'int8', got {precision!r}")
    if precision == "int8" and calibration is None:
        raise ValueError("precision='int8' needs calibration=: an iterable of input batches from the training "
                         "data (e.g. [x for x, _ in loader]) to measure the activation ranges")
    if precision != "int8" and calibration is not None:
        raise ValueError(f"calibration is only used by precision='int8', not {precision!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"export expects an nn.Module, got {type(model).__name__}")
    if input_size is not None and (len(tuple(input_size)) != 3 or any(int(v) < 1 for v in input_size)):
        raise ValueError(f"input_size must be (C, H, W) with positive values, got {input_size!r}")
    if class_names is not None:
        class_names = [str(c) for c in class_names]
    if extra is not None:
        import json

        if not isinstance(extra, dict):
            raise TypeError("extra must be a dict of JSON-serialisable header entries")
        try:
            json.dumps(extra, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"extra header entries must be JSON-serialisable: {exc}") from None
    act_scales: dict[nn.Module, float] = {}
    quant_info: dict[str, Any] | None = None
    if precision == "int8":
        from dirnet.deploy.calibrate import calibrate, stem_decision

        act_scales, quant_info = calibrate(model, calibration, calibration_estimator)
        quantize_stem = stem_decision(model, act_scales, quant_info, quantize_stem)
    was_training = model.training
    model.eval()
    try:
        tracer = _Tracer(_leaf_types())
        try:
            graph = tracer.trace(model)
        except Exception as exc:
            raise ExportError(f"torch.fx could not trace the model ({type(exc).__name__}: {exc}); "
                              "models with data-dependent control flow cannot be exported") from exc
        gm = fx.GraphModule(tracer.root, graph)
        _check_modules(gm)
        size = _shape_prop(gm, input_size, _first_conv_channels(model))
        writer = _GraphWriter(precision, act_scales, quantize_stem)
        modules = dict(gm.named_modules())
        output: str | None = None
        outputs: list[dict[str, str]] | None = None
        structure: str | None = None
        input_value: str | None = None
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                if input_value is not None:
                    raise ExportError("the model must take exactly one input tensor")
                input_value = writer.emit("input", "input", [], 4, {"channels": int(size[0])})
                writer.values[node] = input_value
                writer.input_value = input_value
            elif node.op == "call_module":
                writer.values[node] = writer.module(node, modules[node.target])
            elif node.op in ("call_function", "call_method"):
                writer.values[node] = writer.function(node)
            elif node.op == "get_attr":
                raise ExportError(f"the model reads the attribute {node.target!r} as a tensor in forward; "
                                  "only parameters inside supported modules can be exported")
            elif node.op == "output":
                output, outputs, structure = _graph_outputs(writer, node.args[0])
        if (output is None and outputs is None) or input_value is None:
            raise ExportError("the traced graph has no input or no output")
        if output == input_value or (outputs and any(o["value"] == input_value for o in outputs)):
            raise ExportError("the model returns its input unchanged: nothing to export")
    finally:
        model.train(was_training)
    from dirnet._version import __version__

    header = {
        "format": fileformat.FORMAT,
        "version": fileformat.FORMAT_VERSION,
        "producer": f"dirnet {__version__}",
        "architecture": architecture or type(model).__name__,
        "precision": precision,
        "conventions": fileformat.CONVENTIONS,
        "input": {"channels": int(size[0]), "size_hint": [int(v) for v in size], "layout": "NCHW"},
        "class_names": class_names,
        "graph": writer.ops,
    }
    # One tensor: "output" (the form every reader knows). A tuple, list or
    # dict: "outputs" in order plus "output_structure", and no "output", so
    # that a reader that knows only one output refuses the file instead of
    # returning part of it.
    if quant_info is not None:  # readers ignore it; it says how the scales were found
        header["quantization"] = {"scheme": "int8 per-output-channel symmetric weights, per-tensor symmetric "
                                            "calibrated input scales",
                                  **quant_info}
    if outputs is None:
        header["output"] = output
    else:
        header["outputs"] = outputs
        header["output_structure"] = structure
    for key, value in (extra or {}).items():
        if key in header:
            raise ValueError(f"extra header entry {key!r} would overwrite a reserved field")
        header[key] = value
    tensors = writer.tensors
    for name, arr in (extra_tensors or {}).items():
        if name in tensors:
            raise ValueError(f"extra tensor {name!r} would overwrite a tensor of the graph")
        tensors[name] = np.ascontiguousarray(arr)
    path = Path(path)
    fileformat.write(path, header, tensors)
    return path
