"""``OptionAShortcut`` (the CIFAR ResNets' parameter-free shortcut): file op ``shortcut_a``."""
from __future__ import annotations

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import OpSpec


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



register(OpSpec(
    "shortcut_a", modules=_shortcut_type, leaf=True, write_module=_write_shortcut,
    supports="OptionAShortcut", doc_order=60,
))
