"""ReActNet's parts: RSign (learnable threshold before sign) and RPReLU."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter


def _channel_view(v: Tensor, x: Tensor, channel_dim: int) -> Tensor:
    shape = [1] * x.dim()
    shape[channel_dim] = -1
    return v.view(shape)


class RSign(nn.Module):
    """Learnable per-channel shift: returns ``x - b`` (the sign follows in the quantizer)."""

    def __init__(self, channels: int, channel_dim: int = 1):
        super().__init__()
        self.channel_dim = channel_dim
        self.bias = nn.Parameter(torch.zeros(channels))

    def threshold(self) -> Tensor:
        return self.bias.detach()

    def forward(self, x: Tensor) -> Tensor:
        return x - _channel_view(self.bias, x, self.channel_dim)


class RPReLU(LazyModuleMixin, nn.Module):
    """ReActNet's RPReLU: ``PReLU(x - gamma) + zeta`` with per-channel gamma, slope, zeta.

    The channel count is inferred at the first forward (or from a loaded
    state_dict), so a converter can put it in place of any activation.
    """

    cls_to_become = None

    def __init__(self, num_channels: int | None = None, init_slope: float = 0.25):
        super().__init__()
        self.init_slope = float(init_slope)
        self.gamma = UninitializedParameter()
        self.slope = UninitializedParameter()
        self.zeta = UninitializedParameter()
        if num_channels is not None:
            self._materialize(int(num_channels))

    def _materialize(self, c: int) -> None:
        self.gamma.materialize((c,))
        self.slope.materialize((c,))
        self.zeta.materialize((c,))
        with torch.no_grad():
            self.gamma.zero_()
            self.zeta.zero_()
            self.slope.fill_(self.init_slope)

    def initialize_parameters(self, x: Tensor) -> None:  # LazyModuleMixin hook
        if self.has_uninitialized_params():
            self._materialize(x.shape[1])

    def forward(self, x: Tensor) -> Tensor:
        g = _channel_view(self.gamma, x, 1)
        y = x - g
        y = torch.where(y >= 0, y, y * _channel_view(self.slope, x, 1))
        return y + _channel_view(self.zeta, x, 1)
