"""Weight-sign flip ratio between two moments of training, per binary layer."""
from __future__ import annotations

import torch
from torch import nn

from dirnet.nn import BINARY_LAYERS


class SignFlipTracker:
    """Remembers each binary layer's weight signs; ``update()`` returns the fraction flipped.

    The signs are taken as the layer's method binarizes them (after IMB's
    balancing, for instance), so this is the flip ratio of the binary weights.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.signs = self._snapshot()

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {n: m.binary_weight()[0].gt(0).cpu() for n, m in self.model.named_modules()
                if isinstance(m, BINARY_LAYERS)}

    def update(self) -> dict[str, float]:
        now = self._snapshot()
        out = {n: float((now[n] != self.signs[n]).float().mean()) for n in now}
        self.signs = now
        return out
