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
"""
from __future__ import annotations

import operator
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from dirnet.deploy import fileformat
from dirnet.deploy.reference import pack_signs

SUPPORTED = (
    "Conv2d (groups=1), BinaryConv2d, Linear, BinaryLinear, BatchNorm1d/2d, Hardtanh, ReLU, ReLU6, "
    "PReLU, RPReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Identity, Dropout, "
    "OptionAShortcut, residual '+', relu/hardtanh/flatten/mean functions"
)


class ExportError(ValueError):
    """The model contains something the native runtime cannot run."""


def _leaf_types() -> tuple[type, ...]:
    from dirnet.nn import BinaryConv2d, BinaryLinear, RPReLU

    types: list[type] = [BinaryConv2d, BinaryLinear, RPReLU]
    try:
        from dirnet.models.shortcut import OptionAShortcut

        types.append(OptionAShortcut)
    except ImportError:  # pragma: no cover - zoo not installed
        pass
    return tuple(types)


class _Tracer(fx.Tracer):
    """Keeps dirnet's layers as single nodes (their internals are not graph ops)."""

    def __init__(self, leaves: tuple[type, ...]):
        super().__init__()
        self._leaves = leaves

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, self._leaves) or super().is_leaf_module(m, qualname)


def bn_affine(m: nn.modules.batchnorm._BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """Eval-mode BatchNorm as ``fma(x, scale, shift)`` with PyTorch's own fp32 values.

    PyTorch's CPU kernel computes ``scale = weight * (1 / sqrt(var + eps))``
    in fp32 (``var + eps`` rounded from double) and ``shift = fma(-mean,
    scale, bias)``, then ``fma(x, scale, shift)``. With the same two vectors, a binary conv's exact integer output
    goes through BN to the very same fp32 value, so the next layer's signs
    agree bit for bit. ``shift`` is read off the module itself (its output
    for x = 0), which also covers the rounding of its own fp32 arithmetic.
    """
    f32 = np.float32
    var = m.running_var.detach().float().numpy()
    w = m.weight.detach().float().numpy() if m.weight is not None else np.ones_like(var)
    # var + eps summed in double and rounded to float, then 1 / sqrt in float
    # with IEEE rounding (numpy's): the order of PyTorch 2.x's CPU kernel
    # (torch's own vectorised sqrt can differ by an ulp), checked bit for bit
    # by tests/test_deploy.py::test_binary_body_is_bit_exact_through_batchnorm.
    invstd = f32(1) / np.sqrt((var.astype(np.float64) + m.eps).astype(f32))
    scale = (invstd * w).astype(f32)
    with torch.no_grad():
        zero = torch.zeros(1, var.size, 2, 2, dtype=torch.float32)  # the NCHW kernel, not 1x1's
        shift = F.batch_norm(zero, m.running_mean.detach().float(), m.running_var.detach().float(),
                             m.weight.detach().float() if m.weight is not None else None,
                             m.bias.detach().float() if m.bias is not None else None,
                             training=False, eps=m.eps)[0, :, 0, 0]
    return scale, shift.numpy().astype(np.float32)


def _np32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy().astype(np.float32, copy=True)


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ExportError(f"expected a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


class _GraphWriter:
    def __init__(self, precision: str):
        self.precision = precision
        self.ops: list[dict[str, Any]] = []
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
        self.tensors[name] = np.ascontiguousarray(arr)
        return name

    def fp_weight(self, opname: str, w: torch.Tensor, keep_fp32: bool = False) -> str:
        a = _np32(w)
        if self.precision == "fp16" and not keep_fp32:
            h = a.astype(np.float16)
            if not np.isfinite(h).all() and np.isfinite(a).all():
                raise ExportError(f"weights of {opname!r} overflow fp16; export with precision='fp32'")
            a = h
        return self.tensor(opname, "weight", a)

    def emit(self, op: str, name: str, inputs: list[str], rank: int, attrs=None, tensors=None) -> str:
        out = self.new_value(rank)
        self.ops.append({"op": op, "name": name, "inputs": inputs, "output": out,
                         "attrs": attrs or {}, "tensors": tensors or {}})
        return out

    def arg(self, node: Any, where: str) -> str:
        if not isinstance(node, fx.Node) or node not in self.values:
            raise ExportError(f"{where}: only tensors computed by the model can be used here, got {node!r}")
        return self.values[node]

    # -- modules
    def module(self, node: fx.Node, m: nn.Module) -> str:
        from dirnet.nn import BinaryConv2d, BinaryLinear, RPReLU

        try:
            from dirnet.models.shortcut import OptionAShortcut
        except ImportError:  # pragma: no cover
            OptionAShortcut = ()  # type: ignore[assignment]
        qual = str(node.target)
        name = self.unique(qual)
        if len(node.args) != 1 or node.kwargs:
            raise ExportError(f"module {qual!r} ({type(m).__name__}) must be called with one tensor")
        x = self.arg(node.args[0], qual)
        r = self.rank[x]
        if isinstance(m, BinaryConv2d):
            return self.binary_conv(name, x, m)
        if isinstance(m, BinaryLinear):
            return self.binary_linear(name, x, m)
        if isinstance(m, nn.Conv2d):
            return self.conv(name, x, m)
        if isinstance(m, nn.Linear):
            if r != 2:
                raise ExportError(f"Linear {qual!r} is applied to a {r}-D tensor; only (N, features) is supported")
            t = {"weight": self.fp_weight(name, m.weight)}
            if m.bias is not None:
                t["bias"] = self.tensor(name, "bias", _np32(m.bias))
            return self.emit("linear", name, [x], 2, {"in_features": m.in_features,
                                                      "out_features": m.out_features}, t)
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            if isinstance(m, nn.BatchNorm1d) and r != 2:
                raise ExportError(f"BatchNorm1d {qual!r} on a {r}-D tensor is not supported (only (N, C))")
            if m.running_mean is None or m.running_var is None:
                raise ExportError(f"BatchNorm {qual!r} has no running statistics (track_running_stats=False)")
            a, shift = bn_affine(m)
            t = {"scale": self.tensor(name, "scale", a),
                 "shift": self.tensor(name, "shift", shift)}
            return self.emit("affine", name, [x], r, {"channels": int(a.size)}, t)
        if isinstance(m, nn.Hardtanh):  # includes ReLU6
            return self.emit("hardtanh", name, [x], r, {"min": float(m.min_val), "max": float(m.max_val)})
        if isinstance(m, nn.ReLU):
            return self.emit("relu", name, [x], r)
        if isinstance(m, nn.PReLU):
            return self.emit("prelu", name, [x], r, {},
                             {"slope": self.tensor(name, "slope", _np32(m.weight).reshape(-1))})
        if isinstance(m, RPReLU):
            if m.has_uninitialized_params():
                raise ExportError(f"RPReLU {qual!r} is not initialised (run one forward pass first)")
            one = np.ones(m.gamma.numel(), np.float32)
            y = self.emit("affine", self.unique(qual + ".shift_in"), [x], r, {"channels": one.size},
                          {"scale": self.tensor(name, "one", one),
                           "shift": self.tensor(name, "neg_gamma", -_np32(m.gamma))})
            y = self.emit("prelu", name, [y], r, {},
                          {"slope": self.tensor(name, "slope", _np32(m.slope))})
            return self.emit("affine", self.unique(qual + ".shift_out"), [y], r, {"channels": one.size},
                             {"scale": f"{name}.one",
                              "shift": self.tensor(name, "zeta", _np32(m.zeta))})
        if isinstance(m, (nn.Identity, nn.Dropout, nn.Dropout2d)):
            return x
        if isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise ExportError(f"Flatten {qual!r}: only start_dim=1, end_dim=-1 is supported")
            return x if r == 2 else self.emit("flatten", name, [x], 2)
        if isinstance(m, nn.MaxPool2d):
            if m.return_indices:
                raise ExportError(f"MaxPool2d {qual!r}: return_indices is not supported")
            return self.emit("maxpool2d", name, [x], 4, {
                "kernel": list(_pair(m.kernel_size)), "stride": list(_pair(m.stride or m.kernel_size)),
                "padding": list(_pair(m.padding)), "dilation": list(_pair(m.dilation)),
                "ceil_mode": bool(m.ceil_mode)})
        if isinstance(m, nn.AvgPool2d):
            return self.emit("avgpool2d", name, [x], 4, {
                "kernel": list(_pair(m.kernel_size)), "stride": list(_pair(m.stride or m.kernel_size)),
                "padding": list(_pair(m.padding)), "ceil_mode": bool(m.ceil_mode),
                "count_include_pad": bool(m.count_include_pad),
                "divisor": int(m.divisor_override or 0)})
        if isinstance(m, nn.AdaptiveAvgPool2d):
            return self.adaptive(name, x, m.output_size)
        if OptionAShortcut and isinstance(m, OptionAShortcut):
            return self.emit("shortcut_a", name, [x], 4, {
                "stride": int(m.stride), "pad_before": int(m.pad_before), "pad_after": int(m.pad_after),
                "in_channels": int(m.in_channels)})
        raise ExportError(
            f"cannot export module {qual!r} of type {type(m).__name__}: the native runtime supports {SUPPORTED}"
        )

    def adaptive(self, name: str, x: str, size: Any) -> str:
        oh, ow = size if isinstance(size, (tuple, list)) else (size, size)
        if oh is None or ow is None:
            raise ExportError(f"AdaptiveAvgPool2d {name!r}: output size None is not supported")
        return self.emit("adaptive_avgpool2d", name, [x], 4, {"output_size": [int(oh), int(ow)]})

    def conv(self, name: str, x: str, m: nn.Conv2d) -> str:
        if m.groups != 1:
            raise ExportError(f"Conv2d {name!r} has groups={m.groups}: grouped/depthwise convolutions "
                              "are not supported by the native runtime")
        if m.padding_mode != "zeros":
            raise ExportError(f"Conv2d {name!r}: padding_mode={m.padding_mode!r} is not supported")
        pads = _conv_pads(m)
        # The stem (a conv reading the network input) stays fp32 in an fp16
        # file: it is tiny, and its rounding would move signs in every layer.
        t = {"weight": self.fp_weight(name, m.weight, keep_fp32=x == self.input_value)}
        if m.bias is not None:
            t["bias"] = self.tensor(name, "bias", _np32(m.bias))
        return self.emit("conv2d", name, [x], 4, {
            "in_channels": m.in_channels, "out_channels": m.out_channels,
            "kernel": list(m.kernel_size), "stride": list(m.stride), "padding": list(pads),
            "dilation": list(m.dilation)}, t)

    def binary_conv(self, name: str, x: str, m: nn.Conv2d) -> str:
        if m.groups != 1:
            raise ExportError(f"BinaryConv2d {name!r} has groups={m.groups}: not supported")
        signs, scale = m.binary_weight()
        signs = signs.detach().float()
        if not bool(((signs == 1) | (signs == -1)).all()):
            raise ExportError(f"BinaryConv2d {name!r}: binary_weight() returned values other than +-1")
        oc = m.out_channels
        scale = scale.detach().float().reshape(-1)
        if scale.numel() == 1:
            scale = scale.expand(oc)
        if scale.numel() != oc:
            raise ExportError(f"BinaryConv2d {name!r}: scale has {scale.numel()} values for {oc} channels")
        packed = pack_signs(signs.permute(0, 2, 3, 1).cpu().numpy())
        t = {"weight": self.tensor(name, "weight", packed),
             "scale": self.tensor(name, "scale", scale.cpu().numpy().astype(np.float32))}
        if m.bias is not None:
            t["bias"] = self.tensor(name, "bias", _np32(m.bias))
        thr = m.input_threshold()
        if thr is not None:
            t["in_threshold"] = self.tensor(name, "in_threshold", _np32(thr).reshape(-1))
        pads = _conv_pads(m)
        return self.emit("bconv2d", name, [x], 4, {
            "in_channels": m.in_channels, "out_channels": oc, "kernel": list(m.kernel_size),
            "stride": list(m.stride), "padding": list(pads), "dilation": list(m.dilation),
            "pad_value": float(getattr(m, "pad_value", 1.0))}, t)

    def binary_linear(self, name: str, x: str, m: nn.Linear) -> str:
        if self.rank[x] != 2:
            raise ExportError(f"BinaryLinear {name!r} is applied to a {self.rank[x]}-D tensor; only (N, features)")
        signs, scale = m.binary_weight()
        signs = signs.detach().float()
        if not bool(((signs == 1) | (signs == -1)).all()):
            raise ExportError(f"BinaryLinear {name!r}: binary_weight() returned values other than +-1")
        scale = scale.detach().float().reshape(-1)
        if scale.numel() == 1:
            scale = scale.expand(m.out_features)
        t = {"weight": self.tensor(name, "weight", pack_signs(signs.cpu().numpy())),
             "scale": self.tensor(name, "scale", scale.cpu().numpy().astype(np.float32))}
        if m.bias is not None:
            t["bias"] = self.tensor(name, "bias", _np32(m.bias))
        thr = m.input_threshold()
        if thr is not None:
            t["in_threshold"] = self.tensor(name, "in_threshold", _np32(thr).reshape(-1))
        return self.emit("blinear", name, [x], 2, {"in_features": m.in_features,
                                                   "out_features": m.out_features}, t)

    # -- functions and methods
    def function(self, node: fx.Node) -> str:
        f = node.target
        fname = getattr(f, "__name__", str(f))
        name = self.unique(node.name)
        args, kwargs = node.args, dict(node.kwargs)
        if node.op == "call_method":
            x = self.arg(args[0], fname)
            r = self.rank[x]
            if f in ("add", "add_", "__add__", "__iadd__") and len(args) == 2 and not kwargs:
                return self.emit("add", name, [x, self.arg(args[1], fname)], r)
            if f == "relu" and len(args) == 1:
                return self.emit("relu", name, [x], r)
            if f == "flatten":
                return self.flatten(name, x, args[1:], kwargs)
            if f == "mean":
                return self.mean(name, x, args[1:], kwargs)
            raise ExportError(f"cannot export method call .{f}() ({node.name}): supported are {SUPPORTED}")
        if f in (operator.add, operator.iadd, torch.add) and len(args) == 2 and not kwargs:
            a, b = self.arg(args[0], fname), self.arg(args[1], fname)
            return self.emit("add", name, [a, b], self.rank[a])
        x = self.arg(args[0], fname) if args else None
        if f in (F.relu, torch.relu, torch.relu_) and x is not None:
            return self.emit("relu", name, [x], self.rank[x])
        if f in (F.hardtanh, F.hardtanh_) and x is not None:
            lo = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
            hi = kwargs.get("max_val", args[2] if len(args) > 2 else 1.0)
            return self.emit("hardtanh", name, [x], self.rank[x], {"min": float(lo), "max": float(hi)})
        if f is F.relu6 and x is not None:
            return self.emit("hardtanh", name, [x], self.rank[x], {"min": 0.0, "max": 6.0})
        if f is torch.flatten and x is not None:
            return self.flatten(name, x, args[1:], kwargs)
        if f is torch.mean and x is not None:
            return self.mean(name, x, args[1:], kwargs)
        if f is F.adaptive_avg_pool2d and x is not None:
            return self.adaptive(name, x, kwargs.get("output_size", args[1] if len(args) > 1 else None))
        raise ExportError(f"cannot export function {fname} ({node.name}): supported are {SUPPORTED}")

    def flatten(self, name: str, x: str, args: tuple, kwargs: dict) -> str:
        start = kwargs.get("start_dim", args[0] if args else 0)
        end = kwargs.get("end_dim", args[1] if len(args) > 1 else -1)
        r = self.rank[x]
        if start != 1 or end not in (-1, r - 1):
            raise ExportError(f"flatten {name!r}: only flatten(x, 1) is supported")
        return x if r == 2 else self.emit("flatten", name, [x], 2)

    def mean(self, name: str, x: str, args: tuple, kwargs: dict) -> str:
        dims = kwargs.get("dim", args[0] if args else None)
        keep = kwargs.get("keepdim", args[1] if len(args) > 1 else False)
        if self.rank[x] != 4 or dims is None or sorted(int(d) % 4 for d in dims) != [2, 3]:
            raise ExportError(f"mean {name!r}: only the spatial mean x.mean((2, 3)) is supported")
        y = self.adaptive(name, x, (1, 1))
        return y if keep else self.emit("flatten", self.unique(name + ".flatten"), [y], 2)


def _conv_pads(m: nn.Conv2d) -> tuple[int, int, int, int]:
    """(top, left, bottom, right)."""
    pads = getattr(m, "_pads", None)
    if pads is not None:
        left, right, top, bottom = pads
        return int(top), int(left), int(bottom), int(right)
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return (0, 0, 0, 0)
        out = []
        for d, k in zip(m.dilation, m.kernel_size):
            total = d * (k - 1)
            out.append((total // 2, total - total // 2))
        (t, b), (left, right) = out
        return t, left, b, right
    ph, pw = m.padding
    return ph, pw, ph, pw


def _first_conv_channels(model: nn.Module) -> int | None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return int(m.in_channels)
    return None


def _check_modules(gm: fx.GraphModule) -> None:
    """Name the first unsupported module before anything runs (clearer than a shape error)."""
    from dirnet.nn import RPReLU

    ok: tuple[type, ...] = (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.BatchNorm1d, nn.Hardtanh, nn.ReLU,
                            nn.PReLU, RPReLU, nn.Identity, nn.Dropout, nn.Dropout2d, nn.Flatten,
                            nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d) + _leaf_types()
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        m = modules[node.target]
        if not isinstance(m, ok):
            raise ExportError(f"cannot export module {node.target!r} of type {type(m).__name__}: "
                              f"the native runtime supports {SUPPORTED}")
        if isinstance(m, nn.Conv2d) and m.groups != 1:
            raise ExportError(f"{type(m).__name__} {node.target!r} has groups={m.groups}: grouped/depthwise "
                              "convolutions are not supported by the native runtime")


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


def export(
    model: nn.Module,
    path: str | os.PathLike,
    precision: str = "fp16",
    input_size: tuple[int, int, int] | None = None,
    class_names: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (eval-mode semantics) as a packed .dbnn file; returns the path.

    ``precision`` ("fp16" default, or "fp32") is the storage type of the
    full-precision conv/linear weights. ``input_size`` (C, H, W) is stored as
    a hint (and used to trace shapes); by default it is guessed from the first
    conv. ``class_names`` are stored for ``dirnet eval`` and demos; ``extra``
    (JSON-serialisable) adds header entries, e.g. ``{"data": {...}}`` (the
    training data set that ``dirnet eval model.dbnn`` reads).
    """
    if precision not in ("fp16", "fp32"):
        raise ValueError(f"precision must be 'fp16' or 'fp32', got {precision!r}")
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
        writer = _GraphWriter(precision)
        modules = dict(gm.named_modules())
        output: str | None = None
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
                out = node.args[0]
                if isinstance(out, (tuple, list)):
                    if len(out) != 1:
                        raise ExportError("the model must return a single tensor")
                    out = out[0]
                output = writer.arg(out, "output")
        if output is None or input_value is None:
            raise ExportError("the traced graph has no input or no output")
        if output == input_value:
            raise ExportError("the model returns its input unchanged: nothing to export")
    finally:
        model.train(was_training)
    from dirnet._version import __version__

    header = {
        "format": fileformat.FORMAT,
        "version": fileformat.FORMAT_VERSION,
        "producer": f"dirnet {__version__}",
        "architecture": type(model).__name__,
        "precision": precision,
        "conventions": fileformat.CONVENTIONS,
        "input": {"channels": int(size[0]), "size_hint": [int(v) for v in size], "layout": "NCHW"},
        "class_names": class_names,
        "graph": writer.ops,
        "output": output,
    }
    for key, value in (extra or {}).items():
        if key in header:
            raise ValueError(f"extra header entry {key!r} would overwrite a reserved field")
        header[key] = value
    path = Path(path)
    fileformat.write(path, header, writer.tensors)
    return path
