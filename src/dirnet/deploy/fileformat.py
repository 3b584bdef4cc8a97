"""The ``.dbnn`` file: one safetensors file whose metadata holds a JSON header.

Layout (format version 1)::

    safetensors tensors   packed binary weights (uint64), full-precision
                          weights (fp16 or fp32), per-channel vectors (fp32)
    metadata["dirnet"]    JSON: format, version, precision, conventions,
                          input (channels, size hint), class_names, graph
                          (ops in topological order), output (or outputs and
                          output_structure: multi-output models), tensors_sha256,
                          and extra entries (e.g. data, from ``dirnet export``)

``tensors_sha256`` is the hex SHA-256 of the tensor data, so a flipped bit in
a weight is an error instead of a silently different model. It is computed
over the tensors in sorted name order (Python string order, i.e. by code
point); for each tensor it hashes the UTF-8 bytes of the compact JSON array
``[name, dtype, shape]`` (``json.dumps(..., separators=(",", ":"))``, dtype
as safetensors names it: ``"F16"``, ``"F32"``, ``"U64"``, ...; shape a list
of ints), then the tensor's bytes as stored (C order, little-endian).
:func:`write` always adds it and :func:`read` checks it when present; files
written before it existed have no such key and still load. The format
version stays 1: :func:`check_header` has always ignored header keys it does
not know, so an older dirnet reads a file with the checksum unchanged (it
just does not check it), and bumping the version would make older readers
refuse files they can read.

Reading never unpickles anything and never trusts the file: the JSON header
is checked against a schema, every tensor an op names must exist with the
dtype and shape the op implies, and any failure is a :class:`FormatError`
(a ValueError) that says what is wrong.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dirnet.atomic_file import atomic_write

FORMAT = "dirnet.dbnn"
FORMAT_VERSION = 1
METADATA_KEY = "dirnet"
MAX_HEADER_CHARS = 16 * 1024 * 1024
MAX_OPS = 100_000
CHECKSUM_KEY = "tensors_sha256"

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


def _safetensors_dtype(dtype: np.dtype) -> str:
    """The safetensors name of a numpy dtype (F16, F32, U64, I32, BOOL, ...)."""
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind in "fiu":
        return f"{dtype.kind.upper()}{8 * dtype.itemsize}"
    raise FormatError(f"tensor dtype {dtype} cannot be stored in a .dbnn file")


def tensors_sha256(tensors: dict[str, np.ndarray]) -> str:
    """The checksum stored as ``header["tensors_sha256"]`` (see the module docstring)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        record = [name, _safetensors_dtype(arr.dtype), [int(v) for v in arr.shape]]
        h.update(json.dumps(record, separators=(",", ":")).encode("utf-8"))
        h.update(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def check_output(path: str | os.PathLike) -> Path:
    """``path`` as a Path if a file can be written there; else a one-line OSError."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"output {str(path)!r} is a directory; give a file name such as "
                                f"{str(path / 'model.dbnn')!r}")
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(f"directory {str(parent)!r} does not exist (output {str(path)!r})")
    if not parent.is_dir():
        raise NotADirectoryError(f"{str(parent)!r} is not a directory (output {str(path)!r})")
    return path


def write(path: str | os.PathLike, header: dict[str, Any], tensors: dict[str, np.ndarray]) -> int:
    """Write ``tensors`` and the JSON ``header``; returns the file size in bytes.

    Adds ``tensors_sha256`` to the header. The file appears atomically (a
    temporary file in the same folder, renamed over ``path``; removed again
    on any failure) with the permissions a newly created file gets (0666
    less the umask).
    """
    from safetensors.numpy import save

    path = check_output(path)
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    header = {**header, CHECKSUM_KEY: tensors_sha256(arrays)}
    meta = {METADATA_KEY: json.dumps(header, separators=(",", ":"), allow_nan=False)}
    data = save(arrays, metadata=meta)
    with atomic_write(path) as f:
        f.write(data)
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
    want = header.get(CHECKSUM_KEY)
    if want is not None:  # files written before the checksum existed have none
        _need(isinstance(want, str) and len(want) == 64, str(path), f"{CHECKSUM_KEY} must be 64 hex digits")
        if tensors_sha256(tensors) != want.lower():
            raise FormatError(f"{path}: tensor data checksum mismatch: the file is corrupted")
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
    _need(header.get("precision") in ("fp16", "fp32", "int8"), where, "precision must be 'fp16', 'fp32' or 'int8'")
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
    check_outputs(header, where)


OUTPUT_STRUCTURES = ("tuple", "list", "dict")


def check_outputs(header: dict, where: str = "header") -> None:
    """``output`` (one value) or ``outputs`` (``[{"name", "value"}, ...]``, a model
    returning a tuple, list or dict) with the optional ``output_structure``:
    tuples and lists name their outputs "0", "1", ... in order; names are unique."""
    outs = header.get("outputs")
    if outs is None:
        _need(isinstance(header.get("output"), str), where, "missing graph output")
        return
    _need(isinstance(outs, list) and 0 < len(outs) <= MAX_OPS and all(
        isinstance(o, dict) and isinstance(o.get("name"), str) and isinstance(o.get("value"), str) for o in outs),
        where, "'outputs' must be a non-empty list of {\"name\": str, \"value\": str} objects")
    _need("output" not in header or isinstance(header["output"], str), where, "graph output must be a value name")
    names = [o["name"] for o in outs]
    _need(len(set(names)) == len(names), where, "output names must be unique")
    structure = header.get("output_structure")
    if structure is None:
        return
    _need(structure in OUTPUT_STRUCTURES, where,
          "output_structure must be 'tuple', 'list' or 'dict'")
    if structure != "dict":
        _need(names == [str(i) for i in range(len(names))], where,
              f"the outputs of a {structure} must be named '0', '1', ... in order")
