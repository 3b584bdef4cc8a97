"""Reading a run's per-epoch metrics file, ``RUN/metrics.jsonl``.

The trainer (:class:`dirnet.train.metrics.MetricsLog`) appends one JSON object
per epoch: ``epoch`` and that epoch's measurements (``train_loss``,
``test_top1``, ``lr``, ``flip_ratio``, ``flip`` = {layer: ratio}, ...).

Training, the benchmarks and :mod:`dirnet.analysis` all read it with
:func:`read_metrics`; this module imports neither training nor analysis code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_metrics(path: str | Path, *, missing_ok: bool = True) -> list[dict[str, Any]]:
    """The epochs of a run, in file order: one dict per line of ``metrics.jsonl``.

    ``path`` is a run directory (``RUN/metrics.jsonl`` is read) or the file itself.

    A missing file is a run that has not finished an epoch yet (or has not
    started): the result is ``[]``, so callers that scan run directories
    need no check of their own. With ``missing_ok=False`` it is a
    FileNotFoundError naming the path instead, for callers that cannot go on
    without metrics. A file that exists but holds a line that is not a JSON
    object is always an error (ValueError naming ``file:line``); blank lines
    are skipped.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.is_file():
        if missing_ok:
            return []
        raise FileNotFoundError(f"no metrics file at {path} (expected a run directory holding "
                                "metrics.jsonl, or the file itself)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: not a JSON object ({e.msg})") from None
            if not isinstance(row, dict):  # bad file content, not a bad argument
                msg = f"{path}:{i}: expected one JSON object per line, got {type(row).__name__}"
                raise ValueError(msg)  # noqa: TRY004
            rows.append(row)
    return rows
