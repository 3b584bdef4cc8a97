"""int8 export: weight quantization and activation-range calibration.

The scheme (docs/deploy.md, "int8"), for every full-precision ``Conv2d``
(groups = 1) and ``Linear`` of the model (the stem, 1x1 downsample convs, the
classifier; binary layers, grouped/depthwise convs and everything else are
untouched):

* **weights**: per output channel, symmetric: ``s_w[o] = max|w[o]| / 127``
  (1 when the channel is all zero), ``w_q = clamp(round_half_even(w / s_w),
  -127, 127)`` (computed in float64, ``s_w`` stored as fp32). The weights are
  the module's own (BatchNorm is not folded into them: the runtime applies it
  in the epilogue, in float, exactly as for fp32 convs);
* **activations**: one symmetric scale ``s_x`` per layer input, from the
  calibration batches (eval mode, no augmentation). Estimators:
  ``"mse"`` (default): the clipping value ``c`` in ``max|x| * k / 128``,
  ``k = 32 .. 128``, that minimises the mean squared quantization error of
  a sample of the layer's inputs (up to 65,536 values per batch, at most
  2^18 in all, seeded);
  ``"max"``: ``c = max|x|``. ``s_x = c / 127``.

At run time ``x_q = clamp(round_half_even(x * (1 / s_x)), -127, 127)``, the
int32 sum of ``x_q * w_q`` is exact, and the float epilogue scales it by
``s_x * s_w[o]`` folded into the BatchNorm scale.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

ESTIMATORS = ("mse", "max")
_SAMPLE_PER_BATCH = 65536
_MSE_SAMPLES = 1 << 18   # values the clipping search evaluates per layer (float32)
STEM_CHECK_IMAGES = 256  # calibration images the "auto" stem check runs (see stem_decision)
STEM_MAX_CHANGED = 0.005  # ... and the share of their top-1 classes it lets the int8 stem change


def quantize_weight(w: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(w_q int8 [out, ...], s_w fp32 [out])``: per output channel, symmetric."""
    w64 = w.detach().to(torch.float64).cpu()
    flat = w64.reshape(w64.shape[0], -1)
    amax = flat.abs().amax(dim=1)
    scale = (amax / 127.0).to(torch.float32)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    s = scale.to(torch.float64).reshape(-1, *([1] * (w64.dim() - 1)))
    q = torch.clamp(torch.round(w64 / s), -127, 127).to(torch.int8)
    return q.numpy().copy(), scale.numpy().astype(np.float32)


MAX_K = 65536  # in_channels * kh * kw the native int8 op takes (exact int32 sums)


def quantizable(m: nn.Module) -> bool:
    """Does the int8 export quantize this module (a full-precision Conv2d with groups 1, or
    Linear, with at most MAX_K inputs per output; a larger one stays full precision)?"""
    from dirnet.deploy import ops

    spec = ops.module_spec(m)
    if spec is None or spec.name not in ("conv2d", "linear"):
        return False
    if spec.name == "conv2d" and getattr(m, "groups", 1) != 1:
        return False
    w = getattr(m, "weight", None)
    return w is not None and w[0].numel() <= MAX_K


class _Stats:
    def __init__(self, seed: int):
        self.amax = 0.0
        self.samples: list[torch.Tensor] = []
        self.gen = torch.Generator().manual_seed(seed)

    def add(self, x: torch.Tensor) -> None:
        a = x.detach().float().abs().reshape(-1).cpu()
        if a.numel() == 0:
            return
        finite = a[torch.isfinite(a)]
        if finite.numel():
            self.amax = max(self.amax, float(finite.max()))
        if finite.numel() > _SAMPLE_PER_BATCH:
            idx = torch.randint(0, finite.numel(), (_SAMPLE_PER_BATCH,), generator=self.gen)
            finite = finite[idx]
        self.samples.append(finite.clone())


def _mse_clip(amax: float, a: torch.Tensor) -> float:
    """The clipping value with the least mean squared error of symmetric int8 quantization of ``a`` (>= 0)."""
    best_c, best_err = amax, float("inf")
    if a.numel() > _MSE_SAMPLES:  # a seeded subsample keeps the search cheap
        a = a[torch.randperm(a.numel(), generator=torch.Generator().manual_seed(0))[:_MSE_SAMPLES]]
    for k in range(32, 129):
        c = amax * k / 128.0
        s = c / 127.0
        q = torch.clamp(torch.round(a / s), max=127.0) * s
        err = float(((q - a) ** 2).mean())
        if err < best_err:
            best_c, best_err = c, err
    return best_c


def scale_from(stats: _Stats, estimator: str) -> float:
    if stats.amax <= 0.0 or not np.isfinite(stats.amax):
        return 1.0
    if estimator == "max" or not stats.samples:
        c = stats.amax
    else:
        c = _mse_clip(stats.amax, torch.cat(stats.samples))
    s = np.float32(c / 127.0)
    if not (np.isfinite(s) and s > 0 and np.isfinite(np.float32(1.0) / s)):
        return 1.0
    return float(s)


def calibrate(model: nn.Module, batches: Iterable[Any], estimator: str = "mse",
              seed: int = 0) -> tuple[dict[nn.Module, float], dict[str, Any]]:
    """Input scales ``{module: s_x}`` of every quantizable module, from ``batches``
    (input tensors, or (input, ...) tuples whose first element is the input),
    run through ``model`` in eval mode; plus a summary (batches, images, seconds)."""
    import time

    if estimator not in ESTIMATORS:
        raise ValueError(f"calibration estimator must be one of {ESTIMATORS}, got {estimator!r}")
    mods = [m for m in model.modules() if quantizable(m)]
    stats = {m: _Stats(seed + i) for i, m in enumerate(mods)}
    current: list[torch.Tensor] = []  # the batch being run, to spot the layers reading it
    stem: list[nn.Module] = []

    def observe(mod: nn.Module, args: tuple) -> None:
        stats[mod].add(args[0])
        if current and args[0] is current[0] and mod not in stem:
            stem.append(mod)

    hooks = [m.register_forward_pre_hook(observe) for m in mods]
    kept: list[torch.Tensor] = []  # the first calibration images, kept for the stem check,
    kept_top1: list[torch.Tensor] | None = []  # and their fp32 top-1 classes (None: not a classifier)
    n_kept = 0
    was_training = model.training
    model.eval()
    t0 = time.perf_counter()
    n_batches = n_images = 0
    try:
        with torch.no_grad():
            for b in batches:
                x = b[0] if isinstance(b, (tuple, list)) else b
                x = torch.as_tensor(x)
                if x.dim() == 3:
                    x = x.unsqueeze(0)
                x = x.float()
                current[:] = [x]
                y = model(x)
                current.clear()
                if n_kept < STEM_CHECK_IMAGES:
                    kept.append(x[:STEM_CHECK_IMAGES - n_kept])
                    n_kept += int(kept[-1].shape[0])
                    if kept_top1 is not None:
                        classifier = isinstance(y, torch.Tensor) and y.dim() == 2
                        kept_top1 = kept_top1 + [y[:len(kept[-1])].argmax(1)] if classifier else None
                n_batches += 1
                n_images += int(x.shape[0])
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if n_batches == 0:
        raise ValueError("calibration gave no batches: int8 export needs at least one input batch")
    t1 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small element-wise ops: extra threads only contend (seconds on a busy machine)
    try:
        scales = {m: scale_from(stats[m], estimator) for m in mods}
    finally:
        torch.set_num_threads(threads)
    info = {"estimator": estimator, "batches": n_batches, "images": n_images,
            "forward_seconds": round(t1 - t0, 3), "seconds": round(time.perf_counter() - t0, 3),
            "stem_layers": len(stem)}
    info["_stem_check"] = (stem, kept, kept_top1)  # popped by stem_decision
    return scales, info


def _fake_quant_forward(model: nn.Module, layers: list[nn.Module], scales: dict[nn.Module, float],
                        x: torch.Tensor) -> Any:
    """``model(x)`` with ``layers`` computed as the int8 op does: input rounded to its
    calibrated scale, weights to their per-channel int8 grid (then back to float)."""
    saved = {}
    hooks = []
    try:
        for m in layers:
            q, s_w = quantize_weight(m.weight)
            shape = (-1,) + (1,) * (m.weight.dim() - 1)
            saved[m] = m.weight.data
            m.weight.data = (torch.from_numpy(q).double() * torch.from_numpy(s_w).double().reshape(shape)).float()
            s_x = scales[m]

            def pre(mod: nn.Module, args: tuple, s_x: float = s_x) -> tuple:
                xq = torch.clamp(torch.round(args[0] * np.float32(1.0 / s_x)), -127, 127) * s_x
                return (xq, *args[1:])

            hooks.append(m.register_forward_pre_hook(pre))
        return model(x)
    finally:
        for h in hooks:
            h.remove()
        for m, w in saved.items():
            m.weight.data = w


def stem_decision(model: nn.Module, scales: dict[nn.Module, float], info: dict[str, Any],
                  quantize_stem: bool | str) -> bool:
    """Whether the layers reading the network input become int8. ``True``/``False`` decide;
    ``"auto"`` quantizes them only if doing so changes the top-1 class of at most
    ``STEM_MAX_CHANGED`` of the first ``STEM_CHECK_IMAGES`` calibration images (training data:
    never the test split). Binary networks feed the stem's output to sign(), so a model can be
    far more sensitive to the stem's rounding than to any other layer's (the demo's binary
    Fashion-MNIST model changes ~8% of its predictions); the check costs one forward pass (the
    fp32 classes are those calibration computed).
    Models whose output is not one (N, classes) tensor are not checked: the stem becomes int8.
    Records the outcome in ``info`` (written to the file's header)."""
    stem, kept, kept_top1 = info.pop("_stem_check", ([], [], None))
    if quantize_stem not in (True, False, "auto"):
        raise ValueError(f"quantize_stem must be True, False or 'auto', got {quantize_stem!r}")
    if quantize_stem != "auto" or not stem or not kept:
        info["stem"] = "int8" if (quantize_stem and stem) else ("fp32" if stem else "none")
        return bool(quantize_stem)
    import time

    if kept_top1 is None:
        info["stem"] = "int8"
        info["stem_check"] = "not checked: the model's output is not one (N, classes) tensor"
        return True
    t0 = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = torch.cat(kept)
            q = _fake_quant_forward(model, stem, scales, x)
    finally:
        model.train(was_training)
    changed = float((torch.cat(kept_top1) != q.argmax(1)).float().mean())
    keep_int8 = changed <= STEM_MAX_CHANGED
    info["stem"] = "int8" if keep_int8 else "fp32"
    info["stem_check"] = {"images": int(x.shape[0]), "top1_changed": round(changed, 4),
                          "max_changed": STEM_MAX_CHANGED, "seconds": round(time.perf_counter() - t0, 3)}
    return keep_int8
