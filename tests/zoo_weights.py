"""Zoo models whose exported outputs are worth comparing (shared by the deployment tests)."""
from __future__ import annotations

import torch
from torch import nn


def randomize_for_export(model: nn.Module, seed: int, size=(3, 32, 32)) -> nn.Module:
    """Random BN affine values and classifier, BN statistics of a random batch: a fresh
    zoo model's logits hardly depend on its input, so argmax would compare nothing."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.momentum = 1.0  # running statistics := the next batch's
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.5)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.5)
        model.train()
        model(torch.randn(16, *size, generator=g))
        for m in bns:
            m.momentum = 0.1
    return model.eval()
