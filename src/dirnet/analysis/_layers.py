"""Finding the binary layers of a model, in module order (shared by every diagnostic)."""
from __future__ import annotations

from torch import nn

from dirnet.nn import BINARY_LAYERS


def binary_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``[(name, layer), ...]`` for every BinaryConv2d/BinaryLinear, in ``named_modules`` order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    return [(n, m) for n, m in model.named_modules() if isinstance(m, BINARY_LAYERS)]


def require_binary_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Like :func:`binary_layers` but a model without binary layers is a ValueError."""
    layers = binary_layers(model)
    if not layers:
        raise ValueError("the model has no binary layers; binarize it first with "
                         "dirnet.binarize(model, method)")
    return layers
