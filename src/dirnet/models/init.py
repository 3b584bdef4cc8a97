"""Weight initialisation shared by the zoo.

Convs get Kaiming-normal (fan_out), the usual choice for ResNet/MobileNet
families; Linear and BatchNorm keep PyTorch's defaults (uniform, gamma=1/beta=0).
"""

from __future__ import annotations

from torch import nn


def init_weights(model: nn.Module) -> None:
    """Initialise every conv of ``model`` in place (biases to zero)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
