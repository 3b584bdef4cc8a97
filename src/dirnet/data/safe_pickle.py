"""Restricted unpickling for the CIFAR-10 python batches.

CIFAR-10 ships as pickles, and a pickle can run arbitrary code while it is
read. The official batches only hold dicts, lists, bytes/str, ints and one
uint8 numpy array, so this unpickler resolves a fixed table of globals and
refuses every other one. The numpy entries are wrappers that check their
arguments (plain ``ndarray`` only, numeric dtypes only), so even an allowed
name cannot be turned into code execution.

What the files need, checked with ``pickletools``:

- official Python-2 batches (protocol 2): ``numpy.core.multiarray._reconstruct``,
  ``numpy.ndarray``, ``numpy.dtype``;
- batches written by Python 3 / numpy 2 (``cifar10_unpack.py``, protocol 4):
  ``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``;
- protocol-5 re-pickles: ``numpy._core.numeric._frombuffer``;
- protocol-2 pickles written by Python 3 encode ``bytes`` as
  ``_codecs.encode(str, "latin1")``: allowed for exactly that codec.
"""
from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO

import numpy as np

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "safe_load", "safe_loads"]


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A data pickle asked for something outside the allowed table.

    Also a ValueError, so readers report it like any other malformed file.
    """


def _safe_reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    """numpy's ``_reconstruct`` for plain ndarrays only (no subclasses)."""
    if cls is not np.ndarray:
        raise UnsafePickleError("only numpy.ndarray may be reconstructed")
    return np.ndarray.__new__(np.ndarray, shape, typecode)


def _safe_dtype(*args: Any) -> np.dtype:
    """``numpy.dtype`` for plain numeric types (bool/int/uint/float/complex) only."""
    if not args or not isinstance(args[0], (str, bytes)):
        raise UnsafePickleError("numpy.dtype must be given a type string")
    spec = args[0].decode("latin1") if isinstance(args[0], bytes) else args[0]
    dt = np.dtype(spec, *args[1:])
    # Numeric builtin dtypes only: a void/structured dtype can be told by its
    # pickled state (the flags field) that it holds Python objects, which would
    # make numpy treat raw bytes as object pointers.
    if dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
        raise UnsafePickleError(f"only numeric numpy dtypes are allowed, not {dt!r}")
    return dt


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """numpy's protocol-5 ``_frombuffer`` restricted to byte buffers and plain dtypes."""
    if not isinstance(buf, (bytes, bytearray, memoryview)) or not isinstance(dtype, np.dtype):
        raise UnsafePickleError("_frombuffer needs a bytes buffer and a numpy dtype")
    if dtype.kind not in "biufc" or dtype.fields is not None:
        raise UnsafePickleError(f"only numeric numpy dtypes are allowed, not {dtype!r}")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


def _latin1_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes: str -> latin1 bytes only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("_codecs.encode is allowed for latin1 str only")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "bytes"): bytes,
    ("builtins", "str"): str,
    ("builtins", "int"): int,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _safe_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _safe_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _safe_frombuffer,
    ("_codecs", "encode"): _latin1_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals listed in ``_ALLOWED``."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: only plain dicts/lists/bytes/"
                "str/int and uint8 numpy arrays are allowed in a data pickle"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("persistent ids are not allowed in a data pickle")


def safe_load(fh: BinaryIO, encoding: str = "latin1") -> Any:
    """Read one pickle from ``fh`` with :class:`RestrictedUnpickler`.

    ``latin1`` makes Python-2 ``str`` objects (the official CIFAR files) decode
    losslessly; numpy accepts such strings as raw array data.
    """
    return RestrictedUnpickler(fh, encoding=encoding).load()


def safe_loads(data: bytes, encoding: str = "latin1") -> Any:
    """:func:`safe_load` for an in-memory pickle."""
    return safe_load(io.BytesIO(data), encoding=encoding)
