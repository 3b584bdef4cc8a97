"""SIGINT and SIGTERM as KeyboardInterrupt while training, so both leave a checkpoint."""
from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def interruptible():
    """SIGINT and SIGTERM raise KeyboardInterrupt inside the block.

    A job started in the background (nohup ... &) inherits an ignored SIGINT,
    and schedulers stop jobs with SIGTERM: both should leave a resumable
    checkpoint, not a lost epoch.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
