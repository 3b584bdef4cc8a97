"""Progress within an epoch: a tqdm bar on a terminal, plain lines in a log file.

Without a terminal (``nohup ... > log``, a scheduler, CI) a bar writes
nothing useful, and a full CIFAR-10 epoch on a CPU is minutes of silence; so
there the trainer prints ``epoch E/N  step S/T  loss L  lr R  (Xs)`` about
ten times an epoch (``log.every`` steps, when set).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator


class ProgressLog:
    """Wraps an epoch's batches; ``step()`` is called after each training step."""

    def __init__(self, epochs: int, every: int | None = None, terminal: bool | None = None):
        self.epochs = epochs
        self.every = every
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bar = None
        self._t0 = 0.0
        self._steps = 0
        self._epoch = 0

    def wrap(self, batches: Iterable, epoch: int, first: int, steps: int) -> Iterator:
        self._epoch, self._steps, self._t0 = epoch, steps, time.perf_counter()
        if self.terminal:
            from tqdm.auto import tqdm

            self._bar = tqdm(batches, total=steps, initial=first, leave=False,
                             desc=f"epoch {epoch + 1}/{self.epochs}")
            return iter(self._bar)
        return iter(batches)

    def step(self, step: int, mean_loss: Callable[[], float], lr: float) -> None:
        """After step ``step`` (0-based); ``mean_loss`` is only called when a line is shown."""
        if self._bar is not None:
            if step % 20 == 0:
                self._bar.set_postfix(loss=f"{mean_loss():.3f}", lr=f"{lr:.4f}")
            return
        every = self.every or max(1, self._steps // 10)
        done = step + 1
        if done % every == 0 and done < self._steps:
            print(f"epoch {self._epoch + 1}/{self.epochs}  step {done}/{self._steps}  "
                  f"loss {mean_loss():.4f}  lr {lr:.4f}  ({time.perf_counter() - self._t0:.0f}s)",
                  flush=True)
