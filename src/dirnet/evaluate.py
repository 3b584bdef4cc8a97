"""Evaluate a run directory, a checkpoint or a packed .dbnn file on a data split."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def evaluate_target(target: str, *, split: str = "test", data: str | None = None,
                    data_root: str | None = None, which: str = "last") -> dict[str, Any]:
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
        name = data or train_data.get("name")
        root = data_root or train_data.get("root")
        if name is None:
            raise ValueError(f"{target!r} does not record its data set; pass --data NAME")
    else:
        from dirnet.checkpoint import load_model

        model, cfg = load_model(target, which)
        name = data or cfg.data.name
        root = data_root or cfg.data.root
        seed, val_size = cfg.seed, cfg.data.val_size
        if split == "test" and data is None:
            test_subset = cfg.data.test_subset
    bundle = build(name, root, val_size=val_size if split == "val" else 0, seed=seed)
    ds = bundle.val if split == "val" else bundle.test
    if ds is None:
        raise ValueError(f"the {split!r} split is not available for {name!r}"
                         + (" (the run has no validation split)" if split == "val" else ""))
    if test_subset and split == "test":
        ds = ds.subset(torch.arange(min(int(test_subset), len(ds))))
    loader = BatchLoader(ds, 500, train=False, augment=None, seed=0, mean=bundle.mean, std=bundle.std)
    res = evaluate(model, loader, torch.device("cpu"), dist_reduce=False)
    return {"target": str(target), "split": split, "n": len(ds), **res}


class _RuntimeModule(torch.nn.Module):
    """Let a deployed runtime pass through the same evaluation loop as a torch model."""

    def __init__(self, runtime):
        super().__init__()
        self.runtime = runtime

    def forward(self, x):
        return torch.as_tensor(self.runtime(x))
