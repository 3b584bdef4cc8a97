"""The ``.dbnn`` file: one safetensors file whose metadata holds a JSON header.

Layout (format version 1)::

    safetensors tensors   packed binary weights (uint64), full-precision
                          weights (fp16 or fp32), per-channel vectors (fp32)
    metadata["dirnet"]    JSON: format, version, precision, conventions,
                          input (channels, size hint), class_names, graph
                          (ops in topological order), output

Reading never unpickles anything and never trusts the file: the JSON header
is checked against a schema, every tensor an op names must exist with the
dtype and shape the op implies, and any failure is a :class:`FormatError`
(a ValueError) that says what is wrong.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "dirnet.dbnn"
FORMAT_VERSION = 1
METADATA_KEY = "dirnet"
MAX_HEADER_CHARS = 16 * 1024 * 1024
MAX_OPS = 100_000

CONVENTIONS = {
    "bit_one_means": -1,
    "sign_of_zero": 1,
    "bit_order": "channel c is bit c % 64 of little-endian uint64 word c // 64; padding bits 0",
    "binary_weight_layout": "[out, kh, kw, words] packed along input channels",
    "fp_weight_layout": "torch layout ([out, in, kh, kw] / [out, in])",
    "binary_conv": "y = scale[o] * (K - 2 * popcount(x ^ w)) + bias[o], K = in_channels * kh * kw",
    "input_sign": "bit = !(x - in_threshold >= 0)",
    "pad_value": "1: the +-1 input is padded with +1 (one padding); 0: zero padding",
}


class FormatError(ValueError):
    """A .dbnn file that cannot be read: truncated, corrupted or not a dirnet file."""


def write(path: str | os.PathLike, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> int:
    """Write ``tensors`` and the JSON ``header``; returns the file size in bytes."""
    from safetensors.numpy import save_file

    path = Path(path)
    meta = {METADATA_KEY: json.dumps(header, separators=(",", ":"), allow_nan=False)}
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(arrays, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path.stat().st_size


def read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, tensors)`` of a .dbnn file; raises FormatError on anything unexpected."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such .dbnn file: {path}")
    if not path.is_file():
        raise FormatError(f"{path} is not a regular file")
    try:
        from safetensors import safe_open
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ImportError("reading .dbnn files needs the 'safetensors' package") from exc
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            raw = meta.get(METADATA_KEY)
            if raw is None:
                raise FormatError(f"{path} is a safetensors file without a dirnet header (not a .dbnn file)")
            if not isinstance(raw, str) or len(raw) > MAX_HEADER_CHARS:
                raise FormatError(f"{path}: dirnet header is too large or not text")
            names = list(f.keys())
            tensors = {name: f.get_tensor(name) for name in names}
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types (and OSError)
        raise FormatError(f"{path} is not a readable .dbnn file (truncated or corrupted?): {exc}") from None
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{path}: dirnet header is not valid JSON: {exc}") from None
    check_header(header, str(path))
    return header, tensors


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise FormatError(f"{where}: {msg}")


def check_header(header: Any, where: str = "header") -> None:
    """Top-level schema check (the ops are checked where they are built)."""
    _need(isinstance(header, dict), where, "header must be a JSON object")
    _need(header.get("format") == FORMAT, where, f"not a {FORMAT} file (format={header.get('format')!r})")
    version = header.get("version")
    _need(isinstance(version, int) and not isinstance(version, bool), where, "version must be an integer")
    _need(version <= FORMAT_VERSION, where,
          f"file format version {version} is newer than this dirnet supports ({FORMAT_VERSION}); upgrade dirnet")
    _need(version >= 1, where, f"bad format version {version}")
    _need(header.get("precision") in ("fp16", "fp32"), where, "precision must be 'fp16' or 'fp32'")
    inp = header.get("input")
    _need(isinstance(inp, dict), where, "missing 'input' description")
    ch = inp.get("channels")
    _need(isinstance(ch, int) and not isinstance(ch, bool) and 1 <= ch <= 65536, where,
          "input channels must be an integer in [1, 65536]")
    hint = inp.get("size_hint")
    _need(hint is None or (isinstance(hint, list) and len(hint) == 3 and
                           all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in hint)),
          where, "input size_hint must be [C, H, W] or null")
    names = header.get("class_names")
    _need(names is None or (isinstance(names, list) and all(isinstance(n, str) for n in names)), where,
          "class_names must be a list of strings or null")
    graph = header.get("graph")
    _need(isinstance(graph, list) and 0 < len(graph) <= MAX_OPS, where, "graph must be a non-empty list of ops")
    for i, op in enumerate(graph):
        _need(isinstance(op, dict), where, f"graph op {i} is not an object")
        _need(isinstance(op.get("op"), str), where, f"graph op {i} has no 'op' type")
        _need(isinstance(op.get("name"), str), where, f"graph op {i} has no name")
        ins = op.get("inputs")
        _need(isinstance(ins, list) and all(isinstance(v, str) for v in ins), where,
              f"graph op {i} ({op.get('name')}): 'inputs' must be a list of value names")
        _need(isinstance(op.get("output"), str), where, f"graph op {i} ({op.get('name')}): no output name")
        _need(isinstance(op.get("attrs", {}), dict), where, f"graph op {i}: 'attrs' must be an object")
        _need(isinstance(op.get("tensors", {}), dict), where, f"graph op {i}: 'tensors' must be an object")
    _need(isinstance(header.get("output"), str), where, "missing graph output")
