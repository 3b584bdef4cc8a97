"""Start a run from another run's weights (``model.init``).

The usual case is a binary student that starts from its full-precision
teacher (Bi-Real Net and ReActNet start from a real-valued model, too): the
binary model keeps the fp model's module names, so every parameter and
BatchNorm statistic of the fp model has a place in it. What the fp model
lacks is the binarizers' own state (DTE schedule, activation spread, learned
thresholds), which keeps its fresh values. Anything else that does not match is an
error, because a half-loaded model trains silently worse.

Off by default: for ResNet-20 at the CPU budget (lr 0.1) a student started
from its teacher was behind a fresh one after 3 epochs (BENCHMARKS.md).
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from dirnet import checkpoint as ckpt
from dirnet.config import RunConfig

#: Marks the state a binarized model has and its fp source does not (left at its initial values).
QUANTIZER_STATE = "_quantizer."


def warm_start(model: nn.Module, source: str | Path, cfg: RunConfig) -> list[str]:
    """Load ``source``'s model weights into ``model``; returns the keys left at their initial values."""
    state = ckpt.load(source)
    src_arch = ckpt.config_of(state).model.arch
    if src_arch != cfg.model.arch:
        raise ValueError(f"model.init={str(source)!r} is a {src_arch!r} model, "
                         f"this run trains {cfg.model.arch!r}")
    weights = state["model"]
    own = model.state_dict()
    unexpected = [k for k in weights if k not in own]
    if unexpected:
        raise ValueError(f"model.init={str(source)!r} has weights this model lacks: {unexpected[:8]}"
                         f"{' ...' if len(unexpected) > 8 else ''}")
    shapes = [f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}"
              for k, v in weights.items() if v.shape != own[k].shape]
    if shapes:
        raise ValueError(f"model.init={str(source)!r}: shapes differ (another dataset or width?): "
                         f"{shapes[:4]}")
    missing = [k for k in own if k not in weights]
    not_quantizer = [k for k in missing if QUANTIZER_STATE not in k]
    if not_quantizer:
        raise ValueError(f"model.init={str(source)!r} lacks weights this model needs: {not_quantizer[:8]}")
    model.load_state_dict(weights, strict=False)
    return missing
