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

Per-op knowledge (attribute and tensor checks, ranks, how an unfused op is
emitted, what the fusions need to know of conv-like ops and activations) is
in the op specs of :mod:`dirnet.deploy.ops`; this module holds the passes:
:func:`parse_graph`, :func:`fuse_epilogues`, :func:`value_uses` and the
emission in :func:`build`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dirnet.deploy import ops
from dirnet.deploy.fileformat import FormatError
from dirnet.deploy.ops.base import MAX_CH  # noqa: F401 - kept for importers
from dirnet.deploy.ops.base import Tensors as _Tensors
from dirnet.deploy.ops.base import bad as _bad
from dirnet.deploy.ops.base import get_int as _int  # noqa: F401 - kept for importers
from dirnet.deploy.ops.base import get_ints as _ints  # noqa: F401 - kept for importers
from dirnet.deploy.thresholds import integer_thresholds

F32, BITS = 0, 1
# The file ops this dirnet reads (conv-like, activations, the rest), from the op registry.
KNOWN = ops.known()


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
    spec: ops.OpSpec | None = None


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
    act_code: int = 0  # the native activation enum (the act spec's ``act_code``)
    lo: float = -1.0
    hi: float = 1.0
    slope: np.ndarray | None = None


def parse_graph(header: dict, tensors: dict[str, np.ndarray]) -> tuple[list[Node], str, int]:
    """Validated nodes, the output value and the input channel count.

    Each op's own checks are its spec's ``parse`` (dirnet.deploy.ops); the
    graph-level ones (values defined once and before use, input counts and
    ranks) are here.
    """
    known = ops.known()  # (also ops registered after this module was imported)
    tt = _Tensors(tensors, header["precision"])
    nodes: list[Node] = []
    defined: dict[str, int] = tt.ranks  # value -> rank
    in_channels = header["input"]["channels"]
    tt.in_channels = in_channels
    seen_input = False
    for i, raw in enumerate(header["graph"]):
        op, name, inputs, out = raw["op"], raw["name"], raw["inputs"], raw["output"]
        attrs = raw.get("attrs", {})
        if op not in known:
            raise _bad(name, f"unknown op type {op!r} (this dirnet knows {', '.join(known)})")
        spec = ops.file_op(op)
        if out in defined:
            raise _bad(name, f"value {out!r} is defined twice")
        for v in inputs:
            if v not in defined:
                raise _bad(name, f"input {v!r} is not computed before this op")
        n_in = spec.inputs
        if len(inputs) != n_in:
            raise _bad(name, f"{op} takes {n_in} input(s), got {len(inputs)}")
        node = Node(i, op, name, list(inputs), out, attrs, spec=spec)
        node.rank = defined[inputs[0]] if inputs else 4
        if op == "input":
            if seen_input:
                raise _bad(name, "more than one input op")
            seen_input = True
        spec.parse(tt, raw, node, attrs, name)
        if spec.out_rank is not None:
            node.rank = spec.out_rank
        if spec.in_rank == 4 and node.rank != 4:
            raise _bad(name, f"{op} needs a 4-D input")
        if spec.in_rank == 2 and defined[inputs[0]] != 2:
            raise _bad(name, f"{op} needs a 2-D (N, features) input")
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
    A = node.arrays["scale"].astype(np.float64) if node.spec.binary else np.ones(oc)
    bias = node.arrays.get("bias")
    B = np.zeros(oc) if bias is None else bias.astype(np.float64)
    return A, B


class _Uses:
    """Who consumes each value (``single(v)``: its one consumer, if it has exactly one and is not the output)."""

    def __init__(self, nodes: list[Node], output: str):
        self.output = output
        self.producer = {n.output: n for n in nodes}
        self.consumers: dict[str, list[Node]] = {n.output: [] for n in nodes}
        for n in nodes:
            for v in n.inputs:
                self.consumers[v].append(n)

    def single(self, v: str) -> Node | None:
        c = self.consumers[v]
        return c[0] if len(c) == 1 and v != self.output else None


def fuse_epilogues(nodes: list[Node], uses: _Uses) -> tuple[dict[int, Group], set[int]]:
    """Pass 1: each conv-like op absorbs a following [affine] [add] [activation] chain.

    Returns the groups keyed by the index of their last member, and the
    indices of the other absorbed nodes (which are not emitted on their own).
    """
    single = uses.single
    groups: dict[int, Group] = {}
    member: set[int] = set()
    for n in nodes:
        if n.spec.role != "conv":
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
        if nxt is not None and nxt.spec.role == "act":
            slope = nxt.arrays.get("slope")
            if slope is None or slope.size in (1, A.size):
                g.act = nxt.op
                g.act_code = nxt.spec.act_code
                g.lo, g.hi = nxt.spec.act_bounds(nxt)
                if slope is not None:
                    g.slope = np.broadcast_to(slope, (A.size,)).astype(np.float32)
                g.members.append(nxt.idx)
                g.out_value = nxt.output
        groups[g.members[-1]] = g
        member.update(g.members[:-1])
    return groups, member


def _thr_key(t: np.ndarray | None) -> bytes | None:
    return None if t is None else t.tobytes()


def value_uses(nodes: list[Node], groups: dict[int, Group], member: set[int], output: str
               ) -> tuple[set[str], dict[str, dict[bytes | None, np.ndarray | None]]]:
    """Pass 2: which values are needed as floats, and which packed (keyed by input threshold)."""
    needs_float: set[str] = {output}
    packed_keys: dict[str, dict[bytes | None, np.ndarray | None]] = {}
    for n in nodes:
        if n.idx in member:
            continue
        g = groups.get(n.idx)
        srcs: list[tuple[str, str]] = []  # (value, role)
        if g is not None:
            srcs.append((g.conv.inputs[0], "binary" if g.conv.spec.binary else "float"))
            if g.residual is not None:
                srcs.append((g.residual, "float"))
        else:
            srcs.extend((v, "float") for v in n.inputs)
        for v, role in srcs:
            if role == "binary":
                thr = g.conv.arrays.get("in_threshold")
                packed_keys.setdefault(v, {})[_thr_key(thr)] = thr
            else:
                needs_float.add(v)
    return needs_float, packed_keys


def build(header: dict, tensors: dict[str, np.ndarray], threads: int, path: str):
    """A native ``Plan`` for the graph, plus (output rank, op descriptions)."""
    from dirnet.deploy._native import kernels

    nodes, output, in_channels = parse_graph(header, tensors)
    uses = _Uses(nodes, output)
    producer = uses.producer
    groups, member = fuse_epilogues(nodes, uses)
    needs_float, packed_keys = value_uses(nodes, groups, member, output)
    thr_key = _thr_key

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
            label = "+".join(nodes[i].name for i in g.members) if len(g.members) > 1 else conv.name
            thr_next = keys[fuse_key] if fuse_key != "none" else None
            ic, stride, pads, dil, zero_pad = conv.spec.geometry(conv)
            if conv.spec.binary:
                src = btensor[(conv.inputs[0], thr_key(conv.arrays.get("in_threshold")))]
                w = conv.arrays["weight"]
                kbits = ic * w.shape[1] * w.shape[2]
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
                                   A=A32, B=B32, act=g.act_code, lo=g.lo, hi=g.hi, slope=g.slope,
                                   thr=thr_next)
                    describe.append(f"bconv {label}")
            else:
                src = ftensor[conv.inputs[0]]
                plan.add_conv(label, src, out_f, out_b, res, conv.arrays["weight"], stride, pads, dil,
                              A32, B32, act=g.act_code, lo=g.lo, hi=g.hi, slope=g.slope, thr=thr_next)
                describe.append(f"conv {label}")
            if out_f >= 0:
                emit_packs(v, fuse_key)
            continue
        # standalone ops (all float -> float): the spec's own emit
        if n.spec.emit is None:  # pragma: no cover - every file op but input and convs has one
            raise FormatError(f"op {n.name!r}: unsupported op {n.op!r}")
        ins = [ftensor[v] for v in n.inputs]
        out = new_f(n.output)
        n.spec.emit(plan, n, ins, out)
        describe.append(f"{n.op} {n.name}")
        emit_packs(n.output)
    if output not in ftensor:
        raise FormatError(f"graph output {output!r} is not a float value")
    plan.set_output(ftensor[output])
    out_rank = producer[output].rank
    return plan, out_rank, describe
