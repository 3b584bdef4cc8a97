"""``OptionAShortcut`` (the CIFAR ResNets' parameter-free shortcut): file op ``shortcut_a``."""
from __future__ import annotations

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import MAX_CH, OpSpec, get_int


def _shortcut_type():
    try:
        from dirnet.models.shortcut import OptionAShortcut
    except ImportError:  # pragma: no cover - zoo not installed
        return ()
    return (OptionAShortcut,)


def _write_shortcut(w, node, m, name: str, x: str) -> str:
    return w.emit("shortcut_a", name, [x], 4, {
        "stride": int(m.stride), "pad_before": int(m.pad_before), "pad_after": int(m.pad_after),
        "in_channels": int(m.in_channels)})


def _parse_shortcut(tt, raw, node, attrs, name) -> None:
    get_int(attrs, "stride", name, 1, 64)
    get_int(attrs, "pad_before", name, 0, MAX_CH)
    get_int(attrs, "pad_after", name, 0, MAX_CH)


def _emit_shortcut(plan, n, ins, out) -> None:
    a = n.attrs
    plan.add_shortcut_a(n.name, ins[0], out, a["stride"], a["pad_before"], a["pad_after"])


register(OpSpec(
    "shortcut_a", modules=_shortcut_type, leaf=True, write_module=_write_shortcut,
    supports="OptionAShortcut", doc_order=60,
    parse=_parse_shortcut, in_rank=4, emit=_emit_shortcut,
))
