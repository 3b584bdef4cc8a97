"""Turn a validated .dbnn graph into a native plan, fusing what can be fused.

Fusions (all exact in the sense of docs/deploy.md):

* conv / binary conv / linear  ->  [affine (BN)]  ->  [+ residual]  ->  [activation]
  become one kernel call whose epilogue computes ``act(A * acc + B + res)``
  (BN folded with the binary scale and bias into A, B);
* a float value consumed by binary layers is packed by its producer's
  epilogue (``bit = !(z >= in_threshold)``) when that producer is a conv;
  otherwise a separate pack op follows it;
* a binary conv whose output is only ever binarized again (VGG-Small: conv ->
  BN -> hardtanh -> next conv) writes packed bits through per-channel integer
  thresholds (:mod:`dirnet.deploy.thresholds`).

Every attribute and tensor is validated here before it reaches C++, so a
hostile file produces a :class:`FormatError`, never a crash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dirnet.deploy.fileformat import FormatError
from dirnet.deploy.thresholds import integer_thresholds

F32, BITS = 0, 1
ACTS = {"none": 0, "hardtanh": 1, "relu": 2, "prelu": 3}
CONVS = ("conv2d", "bconv2d", "linear", "blinear")
ACT_OPS = ("hardtanh", "relu", "prelu")
BINARY = ("bconv2d", "blinear")
KNOWN = CONVS + ACT_OPS + ("input", "affine", "add", "maxpool2d", "avgpool2d", "adaptive_avgpool2d",
                           "flatten", "shortcut_a")
MAX_CH = 1 << 20


@dataclass
class Node:
    idx: int
    op: str
    name: str
    inputs: list[str]
    output: str
    attrs: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    rank: int = 4


@dataclass
class Group:
    """A conv-like op with what its epilogue absorbed."""

    conv: Node
    members: list[int]
    out_value: str
    A: np.ndarray
    B: np.ndarray
    residual: str | None = None
    act: str = "none"
    lo: float = -1.0
    hi: float = 1.0
    slope: np.ndarray | None = None


def _bad(node_name: str, msg: str) -> FormatError:
    return FormatError(f"op {node_name!r}: {msg}")


def _int(attrs: dict, key: str, name: str, lo: int, hi: int) -> int:
    v = attrs.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise _bad(name, f"attribute {key!r} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def _ints(attrs: dict, key: str, name: str, n: int, lo: int, hi: int) -> list[int]:
    v = attrs.get(key)
    if not isinstance(v, list) or len(v) != n or not all(
        isinstance(e, int) and not isinstance(e, bool) and lo <= e <= hi for e in v
    ):
        raise _bad(name, f"attribute {key!r} must be {n} integers in [{lo}, {hi}], got {v!r}")
    return v


def _float(attrs: dict, key: str, name: str) -> float:
    v = attrs.get(key)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
        raise _bad(name, f"attribute {key!r} must be a finite number, got {v!r}")
    return float(v)


class _Tensors:
    def __init__(self, tensors: dict[str, np.ndarray], precision: str):
        self.t = tensors
        # full-precision weights: fp16 or fp32 (an fp16 file may keep some layers in fp32)
        self.fp = (np.float16, np.float32)

    def get(self, node: dict, key: str, dtype, shape: tuple[int, ...], required: bool = True):
        refs = node.get("tensors", {})
        ref = refs.get(key)
        if ref is None:
            if required:
                raise _bad(node["name"], f"missing tensor {key!r}")
            return None
        if not isinstance(ref, str) or ref not in self.t:
            raise _bad(node["name"], f"tensor {key!r} refers to {ref!r}, which is not in the file")
        a = self.t[ref]
        if not isinstance(a, np.ndarray):
            raise _bad(node["name"], f"tensor {ref!r} is not an array")
        allowed = dtype if isinstance(dtype, tuple) else (dtype,)
        if a.dtype not in [np.dtype(d) for d in allowed]:
            want = " or ".join(str(np.dtype(d)) for d in allowed)
            raise _bad(node["name"], f"tensor {ref!r} has dtype {a.dtype}, expected {want}")
        if tuple(a.shape) != tuple(shape):
            raise _bad(node["name"], f"tensor {ref!r} has shape {tuple(a.shape)}, expected {tuple(shape)}")
        return np.ascontiguousarray(a)

    def vec(self, node: dict, key: str, n: int, required: bool = True):
        a = self.get(node, key, np.float32, (n,), required)
        return None if a is None else a.astype(np.float32)


def parse_graph(header: dict, tensors: dict[str, np.ndarray]) -> tuple[list[Node], str, int]:
    """Validated nodes, the output value and the input channel count."""
    tt = _Tensors(tensors, header["precision"])
    nodes: list[Node] = []
    defined: dict[str, int] = {}  # value -> rank
    in_channels = header["input"]["channels"]
    seen_input = False
    for i, raw in enumerate(header["graph"]):
        op, name, inputs, out = raw["op"], raw["name"], raw["inputs"], raw["output"]
        attrs = raw.get("attrs", {})
        if op not in KNOWN:
            raise _bad(name, f"unknown op type {op!r} (this dirnet knows {', '.join(KNOWN)})")
        if out in defined:
            raise _bad(name, f"value {out!r} is defined twice")
        for v in inputs:
            if v not in defined:
                raise _bad(name, f"input {v!r} is not computed before this op")
        n_in = {"input": 0, "add": 2}.get(op, 1)
        if len(inputs) != n_in:
            raise _bad(name, f"{op} takes {n_in} input(s), got {len(inputs)}")
        node = Node(i, op, name, list(inputs), out, attrs)
        node.rank = defined[inputs[0]] if inputs else 4
        if op == "input":
            if seen_input:
                raise _bad(name, "more than one input op")
            seen_input = True
            if _int(attrs, "channels", name, 1, 65536) != in_channels:
                raise _bad(name, "input channels differ from the header")
        elif op == "conv2d":
            ic = _int(attrs, "in_channels", name, 1, MAX_CH)
            oc = _int(attrs, "out_channels", name, 1, MAX_CH)
            kh, kw = _ints(attrs, "kernel", name, 2, 1, 64)
            _ints(attrs, "stride", name, 2, 1, 64)
            _ints(attrs, "padding", name, 4, 0, 64)
            _ints(attrs, "dilation", name, 2, 1, 64)
            w = tt.get(raw, "weight", tt.fp, (oc, ic, kh, kw))
            node.arrays["weight"] = w.astype(np.float32)
            node.arrays["bias"] = tt.vec(raw, "bias", oc, required=False)
        elif op == "bconv2d":
            ic = _int(attrs, "in_channels", name, 1, MAX_CH)
            oc = _int(attrs, "out_channels", name, 1, MAX_CH)
            kh, kw = _ints(attrs, "kernel", name, 2, 1, 64)
            _ints(attrs, "stride", name, 2, 1, 64)
            _ints(attrs, "padding", name, 4, 0, 64)
            _ints(attrs, "dilation", name, 2, 1, 64)
            pv = attrs.get("pad_value")
            if pv not in (0, 1, 0.0, 1.0) or isinstance(pv, bool):
                raise _bad(name, f"pad_value must be 0 or 1, got {pv!r}")
            node.arrays["weight"] = tt.get(raw, "weight", np.uint64, (oc, kh, kw, (ic + 63) // 64))
            node.arrays["scale"] = tt.vec(raw, "scale", oc)
            node.arrays["bias"] = tt.vec(raw, "bias", oc, required=False)
            node.arrays["in_threshold"] = tt.vec(raw, "in_threshold", ic, required=False)
        elif op == "linear":
            fi = _int(attrs, "in_features", name, 1, MAX_CH * 64)
            fo = _int(attrs, "out_features", name, 1, MAX_CH)
            w = tt.get(raw, "weight", tt.fp, (fo, fi))
            node.arrays["weight"] = w.astype(np.float32).reshape(fo, fi, 1, 1)
            node.arrays["bias"] = tt.vec(raw, "bias", fo, required=False)
            node.rank = 2
        elif op == "blinear":
            fi = _int(attrs, "in_features", name, 1, MAX_CH * 64)
            fo = _int(attrs, "out_features", name, 1, MAX_CH)
            w = tt.get(raw, "weight", np.uint64, (fo, (fi + 63) // 64))
            node.arrays["weight"] = w.reshape(fo, 1, 1, -1)
            node.arrays["scale"] = tt.vec(raw, "scale", fo)
            node.arrays["bias"] = tt.vec(raw, "bias", fo, required=False)
            node.arrays["in_threshold"] = tt.vec(raw, "in_threshold", fi, required=False)
            node.rank = 2
        elif op == "affine":
            c = _int(attrs, "channels", name, 1, MAX_CH * 64)
            node.arrays["scale"] = tt.vec(raw, "scale", c)
            node.arrays["shift"] = tt.vec(raw, "shift", c)
        elif op == "hardtanh":
            lo, hi = _float(attrs, "min", name), _float(attrs, "max", name)
            if not lo <= hi:
                raise _bad(name, "hardtanh needs min <= max")
        elif op == "prelu":
            ref = raw.get("tensors", {}).get("slope")
            arr = tensors.get(ref) if isinstance(ref, str) else None
            if arr is None or arr.ndim != 1 or arr.size < 1 or arr.size > MAX_CH:
                raise _bad(name, "missing or malformed PReLU slope")
            node.arrays["slope"] = tt.vec(raw, "slope", arr.size)
        elif op in ("maxpool2d", "avgpool2d"):
            k = _ints(attrs, "kernel", name, 2, 1, 64)
            _ints(attrs, "stride", name, 2, 1, 64)
            p = _ints(attrs, "padding", name, 2, 0, 32)
            if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
                raise _bad(name, "padding must be at most half the kernel")
            if op == "maxpool2d":
                _ints(attrs, "dilation", name, 2, 1, 64)
            else:
                _int(attrs, "divisor", name, 0, 1 << 20)
                if not isinstance(attrs.get("count_include_pad"), bool):
                    raise _bad(name, "count_include_pad must be a boolean")
            if not isinstance(attrs.get("ceil_mode"), bool):
                raise _bad(name, "ceil_mode must be a boolean")
        elif op == "adaptive_avgpool2d":
            _ints(attrs, "output_size", name, 2, 1, MAX_CH)
        elif op == "shortcut_a":
            _int(attrs, "stride", name, 1, 64)
            _int(attrs, "pad_before", name, 0, MAX_CH)
            _int(attrs, "pad_after", name, 0, MAX_CH)
        elif op == "flatten":
            node.rank = 2
        if op in ("conv2d", "bconv2d", "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "shortcut_a") \
                and node.rank != 4:
            raise _bad(name, f"{op} needs a 4-D input")
        if op in ("linear", "blinear") and defined[inputs[0]] != 2:
            raise _bad(name, f"{op} needs a 2-D (N, features) input")
        if op == "add" and defined[inputs[0]] != defined[inputs[1]]:
            raise _bad(name, "add of tensors of different rank")
        defined[out] = node.rank
        nodes.append(node)
    if not seen_input or nodes[0].op != "input":
        raise FormatError("graph must start with its input op")
    output = header["output"]
    if output not in defined:
        raise FormatError(f"graph output {output!r} is not computed by any op")
    return nodes, output, in_channels


def _conv_affine(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """A, B (fp64) of the conv's own output: binary scale and bias, or 1 and bias."""
    oc = node.arrays["weight"].shape[0]
    A = node.arrays["scale"].astype(np.float64) if node.op in BINARY else np.ones(oc)
    bias = node.arrays.get("bias")
    B = np.zeros(oc) if bias is None else bias.astype(np.float64)
    return A, B


def build(header: dict, tensors: dict[str, np.ndarray], threads: int, path: str):
    """A native ``Plan`` for the graph, plus (output rank, op descriptions)."""
    from dirnet.deploy._native import kernels

    nodes, output, in_channels = parse_graph(header, tensors)
    producer = {n.output: n for n in nodes}
    consumers: dict[str, list[Node]] = {n.output: [] for n in nodes}
    for n in nodes:
        for v in n.inputs:
            consumers[v].append(n)

    def single(v: str) -> Node | None:
        c = consumers[v]
        return c[0] if len(c) == 1 and v != output else None

    # 1. conv groups
    groups: dict[int, Group] = {}
    member: set[int] = set()
    for n in nodes:
        if n.op not in CONVS:
            continue
        A, B = _conv_affine(n)
        g = Group(n, [n.idx], n.output, A, B)
        nxt = single(g.out_value)
        taken = member | {i for gg in groups.values() for i in gg.members}
        if nxt is not None and nxt.idx in taken:  # another group absorbed it already
            nxt = None
        if nxt is not None and nxt.op == "affine" and nxt.arrays["scale"].size == A.size:
            a = nxt.arrays["scale"].astype(np.float64)
            g.A, g.B = a * g.A, a * g.B + nxt.arrays["shift"].astype(np.float64)
            g.members.append(nxt.idx)
            g.out_value = nxt.output
            nxt = single(g.out_value)
        taken = member | {i for gg in groups.values() for i in gg.members}
        if nxt is not None and nxt.idx in taken:
            nxt = None
        if nxt is not None and nxt.op == "add":
            other = nxt.inputs[1] if nxt.inputs[0] == g.out_value else nxt.inputs[0]
            if other != g.out_value:
                g.residual = other
                g.members.append(nxt.idx)
                g.out_value = nxt.output
                nxt = single(g.out_value)
        if nxt is not None and nxt.idx in taken:
            nxt = None
        if nxt is not None and nxt.op in ACT_OPS:
            slope = nxt.arrays.get("slope")
            if nxt.op != "prelu" or slope.size in (1, A.size):
                g.act = nxt.op
                if nxt.op == "hardtanh":
                    g.lo, g.hi = _float(nxt.attrs, "min", nxt.name), _float(nxt.attrs, "max", nxt.name)
                if nxt.op == "prelu":
                    g.slope = np.broadcast_to(slope, (A.size,)).astype(np.float32)
                g.members.append(nxt.idx)
                g.out_value = nxt.output
        groups[g.members[-1]] = g
        member.update(g.members[:-1])

    # 2. who needs float values, who needs packed ones (keyed by threshold)
    def thr_key(t: np.ndarray | None) -> bytes | None:
        return None if t is None else t.tobytes()

    needs_float: set[str] = {output}
    packed_keys: dict[str, dict[bytes | None, np.ndarray | None]] = {}

    for n in nodes:
        if n.idx in member:
            continue
        g = groups.get(n.idx)
        srcs: list[tuple[str, str]] = []  # (value, role)
        if g is not None:
            srcs.append((g.conv.inputs[0], "binary" if g.conv.op in BINARY else "float"))
            if g.residual is not None:
                srcs.append((g.residual, "float"))
        else:
            srcs.extend((v, "float") for v in n.inputs)
        for v, role in srcs:
            if role == "binary":
                thr = g.conv.arrays.get("in_threshold")
                packed_keys.setdefault(v, {})[thr_key(thr)] = thr
            else:
                needs_float.add(v)

    # 3. emit
    K = kernels()
    plan = K.Plan(int(threads), path or "")
    ftensor: dict[str, int] = {}
    btensor: dict[tuple[str, bytes | None], int] = {}
    describe: list[str] = []

    def new_f(v: str) -> int:
        t = plan.add_tensor(F32, -1)
        ftensor[v] = t
        return t

    def emit_packs(v: str, fused: bytes | None | str = "none") -> None:
        for key, thr in packed_keys.get(v, {}).items():
            if fused != "none" and key == fused:
                continue
            t = plan.add_tensor(BITS, -1)
            btensor[(v, key)] = t
            plan.add_pack(f"pack({producer[v].name})", ftensor[v], t, thr)
            describe.append(f"pack {v}")

    for n in nodes:
        if n.idx in member:
            continue
        if n.op == "input":
            t = plan.add_tensor(F32, in_channels)
            plan.set_input(t, in_channels)
            ftensor[n.output] = t
            emit_packs(n.output)
            continue
        g = groups.get(n.idx)
        if g is not None:
            conv = g.conv
            v = g.out_value
            keys = packed_keys.get(v, {})
            want_f = v in needs_float
            fuse_key: bytes | None | str = "none"
            if len(keys) == 1:
                fuse_key = next(iter(keys))
            out_f = new_f(v) if want_f else -1
            out_b = -1
            if fuse_key != "none":
                out_b = plan.add_tensor(BITS, -1)
                btensor[(v, fuse_key)] = out_b
            if out_f < 0 and out_b < 0:  # value unused (dead branch): still compute it
                out_f = new_f(v)
            res = ftensor[g.residual] if g.residual is not None else -1
            A32, B32 = g.A.astype(np.float32), g.B.astype(np.float32)
            a = conv.attrs
            label = "+".join(nodes[i].name for i in g.members) if len(g.members) > 1 else conv.name
            thr_next = keys[fuse_key] if fuse_key != "none" else None
            if conv.op in BINARY:
                src = btensor[(conv.inputs[0], thr_key(conv.arrays.get("in_threshold")))]
                w = conv.arrays["weight"]
                ic = a["in_channels"] if conv.op == "bconv2d" else a["in_features"]
                kbits = ic * w.shape[1] * w.shape[2]
                if conv.op == "bconv2d":
                    stride, pads, dil = a["stride"], a["padding"], a["dilation"]
                    zero_pad = float(a["pad_value"]) == 0.0
                else:
                    stride, pads, dil, zero_pad = [1, 1], [0, 0, 0, 0], [1, 1], False
                T = sgn = None
                if out_f < 0 and res < 0 and out_b >= 0 and (2 * kbits + 1) * w.shape[0] <= 50_000_000:
                    # dots (zero-padding corrected too) lie in [-K, K]
                    r = integer_thresholds(A32, B32, kbits, g.act, g.lo, g.hi, thr_next, g.slope)
                    if r is not None:
                        T, sgn = r
                if T is not None:
                    plan.add_bconv(label, src, -1, out_b, -1, w, ic, stride, pads, dil, zero_pad, T=T, sgn=sgn)
                    describe.append(f"bconv {label} [threshold epilogue]")
                else:
                    plan.add_bconv(label, src, out_f, out_b, res, w, ic, stride, pads, dil, zero_pad,
                                   A=A32, B=B32, act=ACTS[g.act], lo=g.lo, hi=g.hi, slope=g.slope,
                                   thr=thr_next)
                    describe.append(f"bconv {label}")
            else:
                src = ftensor[conv.inputs[0]]
                if conv.op == "conv2d":
                    stride, pads, dil = a["stride"], a["padding"], a["dilation"]
                else:
                    stride, pads, dil = [1, 1], [0, 0, 0, 0], [1, 1]
                plan.add_conv(label, src, out_f, out_b, res, conv.arrays["weight"], stride, pads, dil,
                              A32, B32, act=ACTS[g.act], lo=g.lo, hi=g.hi, slope=g.slope, thr=thr_next)
                describe.append(f"conv {label}")
            if out_f >= 0:
                emit_packs(v, fuse_key)
            continue
        # standalone ops (all float -> float)
        x = ftensor[n.inputs[0]]
        a = n.attrs
        v = n.output
        if n.op == "affine":
            out = new_f(v)
            plan.add_eltwise(n.name, x, -1, out, A=n.arrays["scale"], B=n.arrays["shift"])
        elif n.op == "add":
            out = new_f(v)
            plan.add_eltwise(n.name, x, ftensor[n.inputs[1]], out)
        elif n.op in ACT_OPS:
            out = new_f(v)
            lo = _float(a, "min", n.name) if n.op == "hardtanh" else -1.0
            hi = _float(a, "max", n.name) if n.op == "hardtanh" else 1.0
            plan.add_eltwise(n.name, x, -1, out, act=ACTS[n.op], lo=lo, hi=hi, slope=n.arrays.get("slope"))
        elif n.op == "maxpool2d":
            out = new_f(v)
            plan.add_maxpool(n.name, x, out, a["kernel"], a["stride"], a["padding"], a["dilation"], a["ceil_mode"])
        elif n.op == "avgpool2d":
            out = new_f(v)
            plan.add_avgpool(n.name, x, out, a["kernel"], a["stride"], a["padding"], a["ceil_mode"],
                             a["count_include_pad"], a["divisor"])
        elif n.op == "adaptive_avgpool2d":
            out = new_f(v)
            plan.add_adaptive_avg(n.name, x, out, *a["output_size"])
        elif n.op == "shortcut_a":
            out = new_f(v)
            plan.add_shortcut_a(n.name, x, out, a["stride"], a["pad_before"], a["pad_after"])
        elif n.op == "flatten":
            out = new_f(v)
            plan.add_flatten(n.name, x, out)
        else:  # pragma: no cover - parse_graph rejects unknown ops
            raise FormatError(f"op {n.name!r}: unsupported op {n.op!r}")
        describe.append(f"{n.op} {n.name}")
        emit_packs(v)
    if output not in ftensor:
        raise FormatError(f"graph output {output!r} is not a float value")
    plan.set_output(ftensor[output])
    out_rank = producer[output].rank
    return plan, out_rank, describe
