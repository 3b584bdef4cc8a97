"""``dirnet.summary(model, input_size)``: what a (binary) model costs, layer by layer.

Accounting rules (also in docs/analysis.md):

- **Parameters** are ``nn.Parameter`` objects only; buffers (BatchNorm running
  statistics, DTE's ``running_sigma``) are not counted. A parameter shared by
  two modules is counted once, at its first owner.
- **Binary layers** (BinaryConv2d / BinaryLinear): each latent weight is stored
  as 1 bit, plus one per-output-channel scale of ``scale_bits`` bits (default
  32, an fp32 value, whatever the method: it is what a deployed file holds
  before BatchNorm folding; pass ``scale_bits=0`` to model a deployment that
  folds the scale into the following BatchNorm / threshold, which is exact for
  IMB's power-of-two scales and for BNN's scale 1). Their bias, if any, is a
  full-precision parameter.
- **Every other parameter** costs its dtype's width (fp32: 32 bits, fp16: 16).
- **Compression** is the all-fp32 size (every parameter at 32 bits) divided by
  the size above.
- **MACs** are counted per example (the batch dimension of ``input_size`` is
  divided out) from the real output shapes seen by forward hooks, for
  convolutions and linear layers only: ``out_elements * in_channels / groups *
  kh * kw`` and ``out_elements * in_features``. Binary layers' MACs are binary
  (XNOR-popcount) MACs, all others float MACs; bias additions, BatchNorm,
  pooling and activations are not counted. ``ops`` is the usual BNN figure
  ``binary_macs / 64 + float_macs`` (Bi-Real Net / ReActNet convention).
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from dirnet.nn import BINARY_LAYERS

_PRECISION_NAMES = {
    torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16", torch.float64: "fp64",
}


def _precision(dtype: torch.dtype) -> str:
    return _PRECISION_NAMES.get(dtype, str(dtype).replace("torch.", ""))


def _bits(p: torch.Tensor) -> int:
    return p.numel() * p.element_size() * 8


def _check_input_size(input_size: Any) -> tuple[int, ...]:
    if isinstance(input_size, torch.Size):
        input_size = tuple(input_size)
    if not isinstance(input_size, Sequence) or isinstance(input_size, str) or len(input_size) < 2:
        raise ValueError("input_size must be a sequence of at least 2 positive ints including the "
                         f"batch dimension, e.g. (1, 3, 32, 32); got {input_size!r}")
    out = []
    for d in input_size:
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"input_size entries must be positive ints, got {input_size!r}")
        out.append(int(d))
    return tuple(out)


@dataclass
class Summary:
    """Result of :func:`summary`: ``rows`` (one dict per layer), ``totals`` and metadata."""

    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    input_size: tuple[int, ...]
    methods: list[str] = field(default_factory=list)
    scale_bits: int = 32

    def to_dict(self) -> dict[str, Any]:
        return {"input_size": list(self.input_size), "methods": self.methods,
                "scale_bits": self.scale_bits, "rows": self.rows, "totals": self.totals}

    def to_json(self, indent: int | None = 2) -> str:
        """The summary as a JSON string (rows, totals, input size, methods)."""
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return format_summary(self)


def _human(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def _human_bytes(b: float) -> str:
    for unit, div in (("MB", 1e6), ("kB", 1e3)):
        if b >= div:
            return f"{b / div:.2f} {unit}"
    return f"{b:g} B"


def format_summary(s: Summary) -> str:
    """A fixed-width table plus the totals, for the terminal."""
    headers = ("layer", "kind", "precision", "output", "params", "memory", "binary MACs",
               "float MACs")
    table = [headers]
    for r in s.rows:
        shape = "x".join(str(d) for d in r["output_shape"]) if r["output_shape"] else "-"
        table.append((r["name"] or "(root)", r["kind"], r["precision"], shape,
                      f"{r['params']:,}", _human_bytes(r["memory_bytes"]),
                      _human(r["binary_macs"]) if r["binary_macs"] else "-",
                      _human(r["float_macs"]) if r["float_macs"] else "-"))
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = []
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j < 4 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("-" * len(lines[0]))
    t = s.totals
    lines.append("-" * len(lines[0]))
    lines += [
        f"input size        {tuple(s.input_size)}  (MACs per example)",
        f"methods           {', '.join(s.methods) if s.methods else '(no binary layers)'}",
        f"binary params     {t['binary_params']:,}  (1 bit each, scale {s.scale_bits} bits/channel)",
        f"fp params         {t['fp_params']:,}",
        (f"memory            {_human_bytes(t['memory_bytes'])}  vs fp32 "
         f"{_human_bytes(t['fp32_bytes'])}  -> compression {t['compression']:.2f}x"),
        f"binary MACs       {t['binary_macs']:,}",
        f"float MACs        {t['float_macs']:,}",
        f"OPs               {_human(t['ops'])}  (binary MACs / 64 + float MACs)",
    ]
    return "\n".join(lines)


def _macs(module: nn.Module, out: torch.Tensor, batch: int) -> int:
    per_example = out.numel() // batch
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_example * (module.in_channels // module.groups) * kh * kw
    return per_example * module.in_features  # nn.Linear


@torch.no_grad()
def summary(model: nn.Module, input_size: Sequence[int] = (1, 3, 32, 32), *,
            scale_bits: int = 32, device: torch.device | str | None = None) -> Summary:
    """Parameters, memory and MACs of ``model`` by precision, layer by layer.

    Runs one forward pass on zeros of ``input_size`` (batch dimension first) in
    eval mode without gradients, so BatchNorm statistics and DTE's running
    spread are left untouched; each module's train/eval flag is restored.
    See the module docstring for the accounting rules.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary() needs a torch.nn.Module, got {type(model).__name__}")
    size = _check_input_size(input_size)
    if isinstance(scale_bits, bool) or not isinstance(scale_bits, int) or scale_bits < 0:
        raise ValueError(f"scale_bits must be a non-negative int, got {scale_bits!r}")

    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    dtype = first.dtype if first is not None else torch.float32
    if device is None:
        device = first.device if first is not None else "cpu"

    modules = list(model.named_modules())
    macs: dict[int, list[int]] = {}
    shapes: dict[int, list[int]] = {}
    batch = size[0]

    def hook(mod: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            shapes[id(mod)] = list(out.shape)
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                macs.setdefault(id(mod), []).append(_macs(mod, out, batch))

    handles = [m.register_forward_hook(hook) for _, m in modules]
    flags = {id(m): m.training for _, m in modules}
    try:
        model.eval()
        model(torch.zeros(size, dtype=dtype, device=device))
    except RuntimeError as e:
        raise ValueError(f"the model could not run on an input of size {size}: {e}") from e
    finally:
        for h in handles:
            h.remove()
        for _, m in modules:
            m.training = flags[id(m)]

    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    methods: list[str] = []
    for name, m in modules:
        params = [p for p in m.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in params)
        is_mac = isinstance(m, (nn.Conv2d, nn.Linear))
        if not params and not is_mac:
            continue
        binary = isinstance(m, BINARY_LAYERS)
        n_bin = n_fp = bits = fp32_bits = 0
        for p in params:
            fp32_bits += p.numel() * 32
            if binary and p is m.weight:
                n_bin += p.numel()
                bits += p.numel() + scale_bits * m.weight.shape[0]
            else:
                n_fp += p.numel()
                bits += _bits(p)
        mac = sum(macs.get(id(m), []))
        if binary and m.method not in methods:
            methods.append(m.method)
        rows.append({
            "name": name,
            "kind": type(m).__name__,
            "precision": "binary" if binary else (_precision(params[0].dtype) if params else "-"),
            "output_shape": shapes.get(id(m)),
            "params": n_bin + n_fp,
            "binary_params": n_bin,
            "fp_params": n_fp,
            "memory_bits": bits,
            "memory_bytes": bits / 8,
            "fp32_bytes": fp32_bits / 8,
            "binary_macs": mac if binary else 0,
            "float_macs": 0 if binary else mac,
        })

    tot = {k: sum(r[k] for r in rows) for k in
           ("params", "binary_params", "fp_params", "memory_bits", "binary_macs", "float_macs")}
    tot["memory_bytes"] = tot["memory_bits"] / 8
    tot["fp32_bytes"] = tot["params"] * 4
    tot["compression"] = (tot["fp32_bytes"] / tot["memory_bytes"]) if tot["memory_bytes"] else math.nan
    tot["ops"] = tot["binary_macs"] / 64 + tot["float_macs"]
    return Summary(rows=rows, totals=tot, input_size=size, methods=methods, scale_bits=scale_bits)
