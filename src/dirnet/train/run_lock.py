"""One training process per run directory: an advisory lock held while it trains.

``fcntl.flock`` is released by the kernel when the process dies, so a
crashed run never leaves a stale lock behind; the file holds the holder's pid
for the error message and is removed on a clean exit.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"


class RunLocked(FileExistsError):
    """Another process is training into this run directory."""


@contextlib.contextmanager
def run_lock(run_dir: Path, enabled: bool = True) -> Iterator[None]:
    """Hold ``run_dir/.lock`` for the block; folders this created and left empty go again."""
    if not enabled:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system: no lock
        yield
        return
    created = [d for d in (run_dir, *run_dir.parents) if not d.exists()]  # innermost first
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    f = open(path, "a+")  # noqa: SIM115 - held open for the whole block
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip()
        f.close()
        raise RunLocked(f"another process{f' (pid {pid})' if pid else ''} is training into "
                        f"{str(run_dir)!r}; wait for it to finish or choose another "
                        f"name= / out_dir=") from None
    try:
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()
        for d in created:  # what this made, while it is empty
            if any(d.iterdir()):
                break
            d.rmdir()
