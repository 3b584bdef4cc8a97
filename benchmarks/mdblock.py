"""Replace one generated block of BENCHMARKS.md, leaving the hand-written text alone."""
from __future__ import annotations

from pathlib import Path


def replace_block(md: Path, block: str, start: str, end: str, heading: str) -> None:
    """Put ``block`` (which begins with ``start`` and ends with ``end``) into ``md``.

    An existing block between the markers is replaced; otherwise the block is
    appended under ``heading``.
    """
    text = md.read_text() if md.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    md.write_text(text)
