"""BinaryConv2d and BinaryLinear: torch's layers with an input and a weight quantizer.

They subclass ``nn.Conv2d`` / ``nn.Linear`` so ``weight`` is the latent weight
and every usual attribute keeps its meaning. ``forward`` binarizes the input
and the weight with the two quantizers the layer is given (Larq's split): the
layer knows nothing of methods. A recipe builds the quantizers and the layer
(``dirnet.methods.get("dirnet").conv2d(...)``); ``dirnet.binarize`` asks it to.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dirnet.nn.quantizers import ActivationQuantizer, WeightQuantizer


class _BinaryMixin:
    """What both binary layers share: quantizers, method name, deployment view."""

    def _set_quantizers(self, input_quantizer: ActivationQuantizer,
                        weight_quantizer: WeightQuantizer, method: str) -> None:
        if not isinstance(input_quantizer, ActivationQuantizer):
            raise TypeError(f"input_quantizer must be an ActivationQuantizer, got "
                            f"{type(input_quantizer).__name__} (build layers with a recipe: "
                            f"dirnet.methods.get(name).conv2d(...))")
        if not isinstance(weight_quantizer, WeightQuantizer):
            raise TypeError(f"weight_quantizer must be a WeightQuantizer, got "
                            f"{type(weight_quantizer).__name__}")
        self.method = method
        self.input_quantizer = input_quantizer
        self.weight_quantizer = weight_quantizer

    def binary_weight(self) -> tuple[Tensor, Tensor]:
        """``(signs, scale)``: the effective weight is ``signs * scale[:, None, ...]``."""
        return self.weight_quantizer.binary_weight(self.weight)

    def input_threshold(self) -> Tensor | None:
        """Per-input-channel threshold b of ``sign(x - b)`` (ReActNet), or None."""
        return self.input_quantizer.threshold()


class BinaryConv2d(_BinaryMixin, nn.Conv2d):
    """A 2-D convolution with 1-bit inputs and weights.

    ``pad_value`` is what the binarized input is padded with: +1 ("one
    padding", the default of every recipe: a 1-bit kernel can represent it)
    or 0 (zero padding, handled exactly here and corrected in deployment).
    ``method`` only names the recipe the quantizers came from (export and
    reports show it).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = False,
        padding_mode: str = "zeros",
        *,
        input_quantizer: ActivationQuantizer,
        weight_quantizer: WeightQuantizer,
        pad_value: float = 1.0,
        method: str = "custom",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(
                f"BinaryConv2d pads its ±1 input with a constant (pad_value 1 or 0); "
                f"padding_mode must be 'zeros', got {padding_mode!r}"
            )
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)
        self._set_quantizers(input_quantizer, weight_quantizer, method)
        if pad_value not in (0.0, 1.0):
            raise ValueError(f"pad_value must be 1.0 (one padding) or 0.0 (zero padding), "
                             f"got {pad_value!r}")
        self.pad_value = float(pad_value)
        self._pads = self._explicit_pads()

    def _explicit_pads(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) pads, resolving torch's 'same'/'valid' strings."""
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return (0, 0, 0, 0)
            pads = []
            for d, k in zip(reversed(self.dilation), reversed(self.kernel_size)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)  # type: ignore[return-value]
        ph, pw = self.padding
        return (pw, pw, ph, ph)

    def forward(self, x: Tensor) -> Tensor:
        wb = self.weight_quantizer(self.weight)
        if self.pad_value == 0.0:  # zero padding: the conv pads, exactly as torch does
            xb = self.input_quantizer(x)
            padded = F.pad(xb, self._pads) if any(self._pads) else xb
        else:  # one padding, fused into the binarizer's output
            padded = self.input_quantizer(x, pads=self._pads if any(self._pads) else None,
                                          pad_value=self.pad_value)
        return F.conv2d(padded, wb, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", method={self.method}, pad_value={self.pad_value:g}"

    @classmethod
    def from_float(cls, conv: nn.Conv2d, **quantization) -> BinaryConv2d:
        """A binary copy of ``conv`` with the same geometry and latent weights.

        ``quantization``: ``input_quantizer``, ``weight_quantizer`` and
        optionally ``pad_value`` and ``method``, as for the constructor.
        """
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, **quantization,
                  device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(conv.weight)
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
        return new


class BinaryLinear(_BinaryMixin, nn.Linear):
    """A fully connected layer with 1-bit inputs and weights."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 input_quantizer: ActivationQuantizer, weight_quantizer: WeightQuantizer,
                 method: str = "custom", device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self._set_quantizers(input_quantizer, weight_quantizer, method)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(self.input_quantizer(x), self.weight_quantizer(self.weight), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", method={self.method}"

    @classmethod
    def from_float(cls, linear: nn.Linear, **quantization) -> BinaryLinear:
        """A binary copy of ``linear``; ``quantization`` as for the constructor."""
        new = cls(linear.in_features, linear.out_features, linear.bias is not None,
                  **quantization, device=linear.weight.device, dtype=linear.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(linear.weight)
            if linear.bias is not None:
                new.bias.copy_(linear.bias)
        return new
