"""Evaluate a run directory, a checkpoint or a packed .dbnn file on a data split.

Classifiers: top-1, top-5 and loss. Detectors (runs with ``data.name=voc``):
mAP@0.5 and mAP@[.5:.95] in percent, through the trainer's own
``DetectionTask`` (so the figures are those its ``metrics.jsonl`` logs), plus
per-class AP@0.5 (:func:`evaluate_detector`).
"""
from __future__ import annotations

from dataclasses import dataclass
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
        recorded = train_data.get("name")
        from dirnet.deploy.detector import is_detector_header

        if is_detector_header(header):
            return _evaluate_detector_file(target, split=split, data=data, data_root=data_root)
        if _is_detector_name(recorded):
            raise ValueError(f"{target!r} records a detection data set ({recorded}) but no "
                             "'detection' entry: export the detector again with `dirnet export`")
        if recorded is not None and _is_detector_name(data):
            raise ValueError(f"{target!r} is a classifier (trained on {recorded}); --data {data} "
                             "needs a detector")
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
        if _is_detector_name(cfg.data.name) or _is_detector_name(data):
            return _evaluate_detector_target(target, ck, model, cfg, split=split, data=data,
                                             data_root=data_root)
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


# --- detectors ---------------------------------------------------------------------------

def _is_detector_name(name: str | None) -> bool:
    from dirnet.train.task import DETECTION_DATA

    return _norm(name) in DETECTION_DATA


@dataclass
class DetectorEvaluation:
    """What :func:`evaluate_detector` returns.

    ``figures``: the trainer's test figures (``map50``, ``map``, ``map50_voc07``,
    percent); ``metrics``: ``DetectionEvaluator.compute()``'s full result;
    ``evaluator``: every image's detections (``postprocess`` defaults, relative
    boxes) and ground truth, in the loader's order (``evaluator.records[i]`` is
    ``dataset`` image i), with the class names; ``dataset``: the split's ``VOCDataset``.
    """

    figures: dict[str, float]
    metrics: dict[str, Any]
    evaluator: Any
    dataset: Any

    def per_class_ap50(self) -> dict[str, float | None]:
        """AP@0.5 per class name in percent (None: no box of that class in the split)."""
        return {k: (None if v != v else 100 * v) for k, v in self.metrics["AP50"].items()}


def evaluate_detector(model: torch.nn.Module, cfg, class_names=None, *, split: str = "test",
                      data_root: str | None = None) -> DetectorEvaluation:
    """A detector on ``split`` of its run's VOC-format data (``cfg``: data.root, data.classes,
    data.test_subset, model.input_size), through ``dirnet.train.task_detection``: one pass
    gives the trainer's figures and the per-image detections.

    ``data_root`` replaces data.root (another VOC-format folder with the same
    classes); ``class_names`` (the checkpoint's) must match the data's.
    """
    from dirnet.train.task_detection import DetectionTask, build_voc

    if data_root is not None:
        cfg = cfg.replace(**{"data.root": str(data_root)})
    bundle = build_voc(cfg)
    ds = bundle.val if split == "val" else bundle.test
    if ds is None:
        raise ValueError(f"the {split!r} split is not available for {cfg.data.root}: no "
                         f"ImageSets/Main/{split}.txt")
    if class_names and list(class_names) != list(bundle.class_names):
        raise ValueError(f"the model predicts the classes {list(class_names)} and "
                         f"{cfg.data.root} has {list(bundle.class_names)}")
    if model.num_classes != bundle.num_classes:
        raise ValueError(f"the model predicts {model.num_classes} classes and {cfg.data.root} "
                         f"has {bundle.num_classes}")
    task = DetectionTask(cfg)
    cpu = torch.device("cpu")
    loader = task.build_loader(ds, cfg, bundle, train=False, device=cpu)
    evaluator = task.collect(model, loader, cpu, None, bundle.class_names)
    metrics = evaluator.compute()
    return DetectorEvaluation(figures=task.figures(metrics), metrics=metrics,
                              evaluator=evaluator, dataset=ds)


def _evaluate_detector_target(target: str, ck: dict[str, Any], model: torch.nn.Module, cfg, *,
                              split: str, data: str | None, data_root: str | None
                              ) -> dict[str, Any]:
    if not _is_detector_name(cfg.data.name):
        raise ValueError(f"{target!r} is a classifier (trained on {cfg.data.name}); "
                         f"--data {data} needs a detector")
    if data is not None and not _is_detector_name(data):
        raise ValueError(f"{target!r} is a detector: it is evaluated on VOC-format data (its own, "
                         f"or --data-root DIR), not on {data}")
    res = evaluate_detector(model, cfg, ck.get("class_names") or None, split=split,
                            data_root=data_root)
    return _detector_result(target, split, res)


def _detector_result(target: str, split: str, res: DetectorEvaluation) -> dict[str, Any]:
    figures = {k: (None if v != v else v) for k, v in res.figures.items()}  # NaN: no boxes
    return {"target": str(target), "split": split, "n": len(res.dataset), "task": "detection",
            **figures, "ap50": res.per_class_ap50()}


def _evaluate_detector_file(target: str, *, split: str, data: str | None,
                            data_root: str | None) -> dict[str, Any]:
    """A detector .dbnn file through the same pipeline as its run: the run's data settings
    (stored in the file), the same loader, ``postprocess`` defaults and evaluator; only the
    network runs natively (dirnet.deploy.detector.NativeDetector)."""
    from dirnet.deploy.detector import config_from_header, load_detector

    if data is not None and not _is_detector_name(data):
        raise ValueError(f"{target!r} is a detector: it is evaluated on VOC-format data (its own, "
                         f"or --data-root DIR), not on {data}")
    det = load_detector(target)
    try:
        cfg = config_from_header(det.header)
    except ValueError:
        if data_root is None:
            raise ValueError(f"{target!r} does not record its data set; pass --data-root DIR") from None
        from dirnet.config import RunConfig

        cfg = RunConfig().replace(**{"data.name": "voc", "data.root": str(data_root),
                                     "data.classes": det.class_names})
    cfg = cfg.replace(**{"model.input_size": det.input_size})
    res = evaluate_detector(det, cfg, det.class_names, split=split, data_root=data_root)
    return _detector_result(target, split, res)


def format_result(res: dict[str, Any]) -> str:
    """The one line ``dirnet eval`` prints for :func:`evaluate_target`'s result."""
    head = f"{res['target']}  {res['split']} ({res['n']} images): "
    if res.get("task") == "detection":
        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.2f}"

        return head + f"mAP@0.5 {pct(res['map50'])}  mAP@[.5:.95] {pct(res['map'])}"
    return head + f"top-1 {res['top1']:.2f}%  top-5 {res['top5']:.2f}%  loss {res['loss']:.4f}"
