"""Ctrl-C and SIGTERM stop a run at the next step boundary, where its state is consistent.

A signal that raised inside a forward pass would leave BatchNorm statistics,
DTE's running spread and ``num_batches_tracked`` updated for a step whose
weights were never updated; a checkpoint written then does not resume
bit-exactly. So the first SIGINT/SIGTERM only *requests* a stop: the trainer
finishes the step (or the end-of-epoch evaluation and checkpoint) it is in,
writes a checkpoint and raises :class:`RunInterrupted`. A second signal
raises ``KeyboardInterrupt`` at once (the last checkpoint written stays
valid, since checkpoints are written atomically).

A job started in the background (nohup ... &) inherits an ignored SIGINT,
and schedulers stop jobs with SIGTERM: both are caught.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

import torch


class RunInterrupted(KeyboardInterrupt):
    """The run stopped on request and left a resumable checkpoint."""


class StopRequest:
    """Set by the first SIGINT/SIGTERM; the training loop polls it between steps."""

    def __init__(self) -> None:
        self.requested = False

    def handler(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt(f"signal {signum} (second): stopping without a checkpoint")
        self.requested = True
        print(f"\n{signal.Signals(signum).name}: stopping after the current step with a "
              f"resumable checkpoint (send it again to stop at once)", file=sys.stderr, flush=True)

    def agreed(self, distributed: bool = False, device: torch.device | None = None) -> bool:
        """Whether to stop now; under DDP, whether any rank was asked to (all stop together)."""
        if not distributed:
            return self.requested
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self.requested else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


@contextlib.contextmanager
def stop_on_signal():
    """Yield a :class:`StopRequest` that SIGINT and SIGTERM set while the block runs."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    old = {s: signal.signal(s, stop.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)
