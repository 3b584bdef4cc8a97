"""The trainer's weight-sign flip tracker; it lives in :mod:`dirnet.flips` (shared with analysis)."""
from __future__ import annotations

from dirnet.flips import SignFlipTracker

__all__ = ["SignFlipTracker"]
