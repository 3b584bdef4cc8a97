"""Evaluate a run directory, a checkpoint or a packed .dbnn file on a data split."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def _norm(name: str | None) -> str | None:
    return name.lower().replace("-", "_") if isinstance(name, str) else name


def evaluate_target(target: str, *, split: str = "test", data: str | None = None,
                    data_root: str | None = None, which: str = "last") -> dict[str, Any]:
    """Top-1, top-5 and loss of ``target`` on ``split`` of its training data set (or ``data``).

    A run trained with ``data.test_subset`` (and a .dbnn file exported from
    one) is evaluated on the same first ``test_subset`` test images, unless
    ``data`` names the data set. With ``data`` naming another data set than
    the model's, the model's data root is not reused (``data_root`` or that
    data set's default). The model must fit the data: same number of input
    channels and classes, and an image size it runs on.
    """
    from dirnet.data import BatchLoader, build
    from dirnet.train.evaluation import evaluate

    path = Path(target)
    test_subset = None  # a run trained with data.test_subset is evaluated on the same subset
    if path.suffix == ".dbnn":
        import dirnet.deploy as deploy

        runtime = deploy.load(path)
        header = getattr(runtime, "header", {}) or {}
        train_data = header.get("data") or {}
        model = _RuntimeModule(runtime)
        seed, val_size = train_data.get("seed", 0), train_data.get("val_size", 0)
        trained_on, trained_root = train_data.get("name"), train_data.get("root")
        in_channels = runtime.in_channels
        if trained_on is None and data is None:
            raise ValueError(f"{target!r} does not record its data set; pass --data NAME")
        if data is None:
            test_subset = train_data.get("test_subset")
    else:
        from dirnet.checkpoint import config_of, load, model_from

        ck = load(target, which)
        model, cfg = model_from(ck), config_of(ck)
        trained_on, trained_root = cfg.data.name, cfg.data.root
        seed, val_size = cfg.seed, cfg.data.val_size
        in_channels = int(ck["in_channels"])
        if data is None:
            test_subset = cfg.data.test_subset
    name = data or trained_on
    if data_root is not None:
        root = data_root
    else:  # another data set than the model's does not live in the model's data folder
        root = trained_root if _norm(name) == _norm(trained_on) else None
    bundle = build(name, root, val_size=val_size if split == "val" else 0, seed=seed)
    ds = bundle.val if split == "val" else bundle.test
    if ds is None:
        raise ValueError(f"the {split!r} split is not available for {name!r}"
                         + (" (the run has no validation split)" if split == "val" else ""))
    _check_fits(model, in_channels, bundle, tuple(ds.image_shape), trained_on)
    if test_subset and split == "test":
        ds = ds.subset(torch.arange(min(int(test_subset), len(ds))))
    loader = BatchLoader(ds, 500, train=False, augment=None, seed=0, mean=bundle.mean, std=bundle.std)
    res = evaluate(model, loader, torch.device("cpu"), dist_reduce=False)
    return {"target": str(target), "split": split, "n": len(ds), **res}


def _check_fits(model: torch.nn.Module, in_channels: int, bundle, image_shape: tuple[int, int, int],
                trained_on: str | None) -> None:
    """A one-line ValueError unless ``model`` takes the data's images and predicts its classes."""
    c, h, w = image_shape
    was = f" (it was trained on {trained_on})" if trained_on and _norm(trained_on) != bundle.name else ""
    if in_channels != c:
        raise ValueError(f"the model takes {in_channels}-channel images and {bundle.name} has "
                         f"{c}-channel images{was}")
    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(1, c, h, w))
    except (RuntimeError, ValueError) as exc:
        reason = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ValueError(f"the model does not run on {bundle.name}'s {c}x{h}x{w} images{was}: "
                         f"{reason}") from None
    outputs = out.shape[1] if out.ndim == 2 else None
    if outputs != bundle.num_classes:
        raise ValueError(f"the model predicts {outputs} classes and {bundle.name} has "
                         f"{bundle.num_classes}{was}")


class _RuntimeModule(torch.nn.Module):
    """Let a deployed runtime pass through the same evaluation loop as a torch model."""

    def __init__(self, runtime):
        super().__init__()
        self.runtime = runtime

    def forward(self, x):
        return torch.as_tensor(self.runtime(x))
