"""Hostile .dbnn files: truncated, corrupted or with a crafted header.

Every case must end in a Python exception (FormatError / ValueError /
TypeError / MemoryError) or in a model that runs: never a crash. A crash
would kill the pytest process, so these tests run in-process on purpose.
"""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dirnet
from dirnet.deploy import exporter, fileformat, runtime

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
OK_ERRORS = (fileformat.FormatError, ValueError, TypeError, MemoryError, FileNotFoundError)
LIMIT = 64 << 20  # activation memory a fuzzed graph may use


class _Blob(bytes):
    """The good file's bytes, with a short repr for hypothesis reports."""

    def __repr__(self) -> str:
        return f"<.dbnn file, {len(self)} bytes>"


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> bytes:
    torch.manual_seed(0)
    fp = dirnet.models.create("resnet20", num_classes=10, width=8)
    bnn = dirnet.binarize(fp, method="reactnet", pad_value=0.0).eval()
    with torch.no_grad():
        bnn(torch.zeros(1, 3, 16, 16))
    path = tmp_path_factory.mktemp("fuzz") / "good.dbnn"
    exporter.export(bnn, path, precision="fp16", input_size=(3, 16, 16))
    return _Blob(path.read_bytes())


@pytest.fixture(scope="module")
def unsummed_file(good_file) -> bytes:
    """The good file without its tensors_sha256: a hostile file need not carry one, so the
    loader's checks of dtypes, shapes and values must hold without the checksum."""
    head, body = _split(good_file)
    header = json.loads(head["__metadata__"]["dirnet"])
    del header["tensors_sha256"]
    head["__metadata__"]["dirnet"] = json.dumps(header)
    return _Blob(_join(head, body))


def _try(path, x=None) -> None:
    try:
        rt = runtime.load(path, threads=1, max_memory=LIMIT)
    except OK_ERRORS:
        return
    x = np.random.default_rng(0).standard_normal((1, rt.in_channels, 16, 16)).astype(np.float32) if x is None else x
    try:
        out = rt(x)
    except OK_ERRORS:
        return
    assert isinstance(out, np.ndarray)


def _split(data: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _join(head: dict, body: bytes) -> bytes:
    raw = json.dumps(head).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def test_good_file_loads(good_file, tmp_path):
    p = tmp_path / "m.dbnn"
    p.write_bytes(good_file)
    rt = runtime.load(p)
    assert rt(np.zeros((2, 3, 16, 16), np.float32)).shape == (2, 10)


def test_missing_and_non_dbnn_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        runtime.load(tmp_path / "nope.dbnn")
    (tmp_path / "empty.dbnn").write_bytes(b"")
    with pytest.raises(fileformat.FormatError):
        runtime.load(tmp_path / "empty.dbnn")
    (tmp_path / "pickle.dbnn").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    with pytest.raises(fileformat.FormatError):
        runtime.load(tmp_path / "pickle.dbnn")
    from safetensors.numpy import save_file

    save_file({"a": np.zeros(3, np.float32)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(fileformat.FormatError, match="without a dirnet header"):
        runtime.load(tmp_path / "plain.safetensors")


@SETTINGS
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated(good_file, tmp_path, cut):
    p = tmp_path / "t.dbnn"
    p.write_bytes(good_file[: min(int(len(good_file) * cut), len(good_file) - 1)])
    with pytest.raises(fileformat.FormatError):
        runtime.load(p)


def _load_flipped(original: bytes, tmp_path, flips) -> None:
    data = bytearray(original)
    for pos, val in flips:
        data[min(int(pos * len(data)), len(data) - 1)] ^= val
    p = tmp_path / "f.dbnn"
    p.write_bytes(bytes(data))
    _try(p)


BYTE_FLIPS = st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), min_size=1, max_size=8)


@SETTINGS
@given(flips=BYTE_FLIPS)
def test_random_byte_flips(good_file, tmp_path, flips):
    _load_flipped(good_file, tmp_path, flips)


@SETTINGS
@given(flips=BYTE_FLIPS)
def test_random_byte_flips_without_checksum(unsummed_file, tmp_path, flips):
    _load_flipped(unsummed_file, tmp_path, flips)


@SETTINGS
@given(bits=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)),
                     min_size=1, max_size=4))
def test_tensor_data_bit_flips_are_caught(good_file, tmp_path, bits):
    """Any flipped bit in the tensor data is a FormatError (tensors_sha256), where before
    most such flips loaded silently as a slightly different model."""
    n = struct.unpack("<Q", good_file[:8])[0]
    start = 8 + n  # the tensor data region: after the u64 header length and the JSON header
    data = bytearray(good_file)
    flipped = {(start + int(pos * (len(data) - start)), bit) for pos, bit in bits}
    for byte, bit in flipped:
        data[byte] ^= 1 << bit
    p = tmp_path / "b.dbnn"
    p.write_bytes(bytes(data))
    with pytest.raises(fileformat.FormatError, match="checksum mismatch: the file is corrupted"):
        runtime.load(p, threads=1)


def test_good_file_has_a_checksum(good_file):
    head, _ = _split(good_file)
    header = json.loads(head["__metadata__"]["dirnet"])
    assert len(header["tensors_sha256"]) == 64 and header["version"] == 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
    | st.sampled_from([0, 1, -1, 64, 65, 2**20, 2**31, 3]) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(which=st.floats(0.0, 1.0), field=st.sampled_from(["attrs", "inputs", "output", "op", "tensors", "name"]),
       key_pick=st.floats(0.0, 1.0), value=JSON_VALUES)
def test_crafted_header(good_file, tmp_path, which, field, key_pick, value):
    head, body = _split(good_file)
    header = json.loads(head["__metadata__"]["dirnet"])
    ops = header["graph"]
    op = ops[min(int(which * len(ops)), len(ops) - 1)]
    target = op.get(field)
    if isinstance(target, dict) and target:
        keys = sorted(target)
        target[keys[min(int(key_pick * len(keys)), len(keys) - 1)]] = value
    else:
        op[field] = value
    head["__metadata__"]["dirnet"] = json.dumps(header)
    p = tmp_path / "h.dbnn"
    p.write_bytes(_join(head, body))
    _try(p)


@SETTINGS
@given(pick=st.floats(0.0, 1.0), dtype=st.sampled_from(["F16", "F32", "U64", "I32", "U8", "F64"]),
       shape=st.lists(st.integers(0, 70), min_size=0, max_size=4))
def test_crafted_tensor_table(unsummed_file, tmp_path, pick, dtype, shape):
    """A tensor whose declared dtype/shape no longer matches what the graph needs."""
    head, body = _split(unsummed_file)
    names = sorted(k for k in head if k != "__metadata__")
    name = names[min(int(pick * len(names)), len(names) - 1)]
    begin, end = head[name]["data_offsets"]
    itemsize = {"F16": 2, "F32": 4, "U64": 8, "I32": 4, "U8": 1, "F64": 8}[dtype]
    if int(np.prod(shape)) * itemsize != end - begin:
        shape = [(end - begin) // itemsize] if (end - begin) % itemsize == 0 else shape
    head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
    p = tmp_path / "s.dbnn"
    p.write_bytes(_join(head, body))
    _try(p)


def test_specific_hostile_headers(good_file, tmp_path):
    head, body = _split(good_file)
    header = json.loads(head["__metadata__"]["dirnet"])

    def variant(mutate) -> None:
        h = json.loads(json.dumps(header))
        mutate(h)
        hh = dict(head)
        hh["__metadata__"] = {"dirnet": json.dumps(h)}
        p = tmp_path / "v.dbnn"
        p.write_bytes(_join(hh, body))
        with pytest.raises(OK_ERRORS):
            rt = runtime.load(p, threads=1, max_memory=LIMIT)
            rt(np.zeros((1, 3, 16, 16), np.float32))

    variant(lambda h: h.update(version=99))
    variant(lambda h: h.update(format="other"))
    variant(lambda h: h.update(graph=[]))
    variant(lambda h: h.update(output="nowhere"))
    variant(lambda h: h["graph"].append(dict(h["graph"][-1])))             # value defined twice
    variant(lambda h: h["graph"].insert(1, dict(h["graph"][3])))           # used before defined
    variant(lambda h: h["graph"][1].update(op="exec"))                     # unknown op
    variant(lambda h: h["graph"][1]["attrs"].update(kernel=[10**9, 1]))
    variant(lambda h: h["graph"][1]["attrs"].update(stride=[0, 1]))
    variant(lambda h: h["graph"][1]["tensors"].update(weight="missing"))
    bconv = next(op for op in header["graph"] if op["op"] == "bconv2d")
    i = header["graph"].index(bconv)
    variant(lambda h: h["graph"][i]["attrs"].update(in_channels=1000))     # shape mismatch
    variant(lambda h: h["graph"][i]["attrs"].update(pad_value=0.5))
    pool = {"op": "adaptive_avgpool2d", "name": "huge", "inputs": [header["graph"][0]["output"]],
            "output": "vhuge", "attrs": {"output_size": [1 << 20, 1 << 20]}, "tensors": {}}
    variant(lambda h: (h["graph"].insert(1, pool), h.update(output="vhuge")))  # memory bomb
    deep = "[" * 100000 + "]" * 100000
    hh = dict(head)
    hh["__metadata__"] = {"dirnet": deep}
    p = tmp_path / "deep.dbnn"
    p.write_bytes(_join(hh, body))
    with pytest.raises(fileformat.FormatError):
        runtime.load(p)
