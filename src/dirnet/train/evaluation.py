"""Top-1, top-5 and loss of a model over a loader (end of each epoch, and `dirnet eval`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dirnet.train.device import autocast
from dirnet.train.distributed import all_reduce_sum


@torch.no_grad()
def evaluate(model: nn.Module, loader, device: torch.device, amp: str | None = None,
             dist_reduce: bool = True) -> dict[str, float]:
    """Top-1, top-5 (in %) and mean cross-entropy of ``model`` over ``loader``."""
    model.eval()
    n = loss_sum = c1 = c5 = 0.0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, amp):
            z = model(x)
        z = z.float()
        loss_sum += F.cross_entropy(z, y, reduction="sum").item()
        top = z.topk(min(5, z.shape[1]), dim=1).indices
        c1 += (top[:, 0] == y).sum().item()
        c5 += (top == y[:, None]).any(dim=1).sum().item()
        n += y.numel()
    if dist_reduce:
        n, loss_sum, c1, c5 = all_reduce_sum([n, loss_sum, c1, c5], device)
    return {"loss": loss_sum / max(n, 1), "top1": 100.0 * c1 / max(n, 1),
            "top5": 100.0 * c5 / max(n, 1)}
