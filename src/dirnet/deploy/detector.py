"""SSD detectors as .dbnn files: export the network, run it natively, decode in Python.

    from dirnet.deploy.detector import export_detector, load_detector
    export_detector(ssd, "det.dbnn", precision="fp32", class_names=names, config=cfg)
    det = load_detector("det.dbnn")             # runs on the native engine
    loc, conf = det(images)                     # exactly what SSD.forward returns
    dets = postprocess(loc, conf, det.anchors)  # the same decoding / NMS as for the torch model

What is in the file and what is not:

* The graph is the network up to the prediction convs (kept full precision, as
  in training): backbone, extras and, per feature map, its box conv and class
  conv. The file's outputs are those raw conv maps, a dict ``loc0, conf0,
  loc1, conf1, ...`` of NCHW tensors (``loc<i>``: ``(B, n_i * 4, H_i, W_i)``,
  ``conf<i>``: ``(B, n_i * (C + 1), H_i, W_i)``). The permute / flatten /
  concatenation that ``SSD.forward`` applies to them is pure data movement;
  it is done here in Python (:func:`assemble`), not in the engine.
* The header entry ``"detection"`` records what decoding needs: the input
  side, the class count (foreground; the last logit is background), the
  anchor settings (feature sizes, aspect ratios, scales, clipping), the box
  variances, the output names per level, the normalisation of the input
  (``(x / 255 - mean) / std``) and the postprocessing defaults the run was
  evaluated with. The anchors themselves (float32 ``(A, 4)`` cxcywh, relative
  to the input, in the order of the assembled outputs) are the tensor
  ``detection.anchors``: a reader that is not dirnet needs no anchor code.
* ``"detection"."config"`` holds the few run settings ``dirnet eval`` needs to
  evaluate the file exactly as it evaluates the run (data root, classes,
  test subset, eval batch size, seed).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dirnet.detection.anchors import VARIANCES, default_boxes
from dirnet.detection.loader import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["DETECTION_KEY", "ANCHORS_TENSOR", "NativeDetector", "SSDMaps", "assemble",
           "export_detector", "is_detector_header", "load_detector"]

DETECTION_KEY = "detection"
ANCHORS_TENSOR = "detection.anchors"
#: ``dirnet.detection.postprocess``'s defaults: what the trainer and ``dirnet eval`` decode with
POSTPROCESS_DEFAULTS = {"score_threshold": 0.01, "iou_threshold": 0.45, "top_k": 200,
                        "pre_nms_top_k": 200}


class SSDMaps(nn.Module):
    """The network part of an :class:`~dirnet.detection.SSD`: ``forward`` returns the raw
    prediction maps as a dict ``{"loc0": ..., "conf0": ..., "loc1": ...}`` (NCHW).

    It shares the SSD's modules (same names: ``backbone.*``, ``extras.*``,
    ``head.loc.i``, ``head.conf.i``), so the exported op names are the checkpoint's.
    """

    def __init__(self, ssd: nn.Module):
        super().__init__()
        self.backbone, self.extras, self.head = ssd.backbone, ssd.extras, ssd.head

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        feats = self.backbone(x)
        for extra in self.extras:
            feats.append(extra(feats[-1]))
        out = {}
        for i, (f, loc_conv, conf_conv) in enumerate(zip(feats, self.head.loc, self.head.conf)):
            out[f"loc{i}"] = loc_conv(f)
            out[f"conf{i}"] = conf_conv(f)
        return out


def assemble(maps: dict[str, Tensor], levels: int, num_classes: int) -> tuple[Tensor, Tensor]:
    """``(loc (B, A, 4), conf (B, A, C + 1))`` from the per-level maps, as ``SSD.forward``
    lays them out (level by level, then y, x, then the boxes of one location)."""
    batch = maps["loc0"].shape[0]
    loc = torch.cat([maps[f"loc{i}"].permute(0, 2, 3, 1).reshape(batch, -1) for i in range(levels)], 1)
    conf = torch.cat([maps[f"conf{i}"].permute(0, 2, 3, 1).reshape(batch, -1) for i in range(levels)], 1)
    return loc.view(batch, -1, 4), conf.view(batch, -1, num_classes + 1)


def _check_ssd(model: nn.Module) -> None:
    from dirnet.detection.ssd import SSD

    if not isinstance(model, SSD):
        raise TypeError(f"export_detector expects a dirnet.detection.SSD, got {type(model).__name__}")


def detection_entry(model: nn.Module, *, config: dict[str, Any] | None = None,
                    mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                    arch: str | None = None) -> dict[str, Any]:
    """The header's ``"detection"`` entry for an SSD (see the module doc)."""
    _check_ssd(model)
    levels = len(model.feature_sizes)
    return {
        "kind": "ssd",
        "arch": arch,
        "num_classes": int(model.num_classes),
        "input_size": int(model.input_size),
        "levels": levels,
        "outputs": {"loc": [f"loc{i}" for i in range(levels)],
                    "conf": [f"conf{i}" for i in range(levels)]},
        "num_anchors": int(model.num_anchors),
        "anchors": {"tensor": ANCHORS_TENSOR, "format": "cxcywh, relative to the input",
                    "feature_sizes": [int(s) for s in model.feature_sizes],
                    "aspect_ratios": [list(r) for r in model.aspect_ratios],
                    "scales": [float(s) for s in model.scales]},
        "variances": list(VARIANCES),
        "normalize": {"mean": [float(v) for v in mean], "std": [float(v) for v in std],
                      "formula": "(x / 255 - mean) / std, RGB, resized to input_size squared"},
        "postprocess": dict(POSTPROCESS_DEFAULTS),
        "config": config,
    }


def export_detector(model: nn.Module, path: str | os.PathLike, precision: str = "fp16", *,
                    class_names: list[str] | None = None, config: dict[str, Any] | None = None,
                    arch: str | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write an SSD as a .dbnn file whose outputs are its raw prediction maps (module doc).

    ``config``: the run settings ``dirnet eval`` reads (see :func:`run_settings`);
    ``extra``: more header entries, as for :func:`dirnet.deploy.export`.
    """
    from dirnet.deploy.exporter import export

    _check_ssd(model)
    entry = detection_entry(model, config=config, arch=arch)
    size = (int(model.backbone.conv1.in_channels), int(model.input_size), int(model.input_size))
    was_training = model.training
    model.eval()
    try:
        anchors = model.anchors.detach().to("cpu", torch.float32).numpy()
        out = export(SSDMaps(model), path, precision=precision, input_size=size,
                     class_names=class_names, extra={**(extra or {}), DETECTION_KEY: entry},
                     extra_tensors={ANCHORS_TENSOR: anchors}, architecture=type(model).__name__)
    finally:
        model.train(was_training)
    return out


def is_detector_header(header: dict[str, Any] | None) -> bool:
    return isinstance(header, dict) and isinstance(header.get(DETECTION_KEY), dict)


class NativeDetector:
    """A detector .dbnn file on the native engine, with the torch SSD's interface where the
    evaluation and drawing code use it: ``det(x) -> (loc, conf)``, ``anchors``,
    ``num_classes``, ``input_size``, ``eval()``.

    ``maps(x)`` returns the file's raw outputs (a dict of per-level NCHW maps).
    """

    def __init__(self, runtime: Any, anchors: Tensor):
        self.runtime = runtime
        self.header = runtime.header
        entry = self.header[DETECTION_KEY]
        self.entry = entry
        self.num_classes = int(entry["num_classes"])
        self.input_size = int(entry["input_size"])
        self.levels = int(entry["levels"])
        self.anchors = anchors
        self.variances = tuple(float(v) for v in entry.get("variances", VARIANCES))
        self.mean = tuple(entry["normalize"]["mean"])
        self.std = tuple(entry["normalize"]["std"])
        self.postprocess_options = dict(entry.get("postprocess") or POSTPROCESS_DEFAULTS)

    @property
    def class_names(self) -> list[str] | None:
        return self.header.get("class_names")

    def eval(self) -> NativeDetector:
        return self

    def maps(self, x: Tensor) -> dict[str, Tensor]:
        return self.runtime(x)

    def __call__(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return assemble(self.maps(torch.as_tensor(x)), self.levels, self.num_classes)

    def __repr__(self) -> str:
        return (f"NativeDetector({self.runtime.path!r}, {self.num_classes} classes, "
                f"{self.input_size}px, {int(self.anchors.shape[0])} anchors, "
                f"kernels={self.runtime.kernel_path})")


def load_detector(path: str | os.PathLike, threads: int | None = None,
                  kernel: str | None = None) -> NativeDetector:
    """Load a detector .dbnn file (``threads`` and ``kernel`` as for ``dirnet.deploy.load``).

    Raises ValueError for a classifier file, FormatError for a detector file whose
    ``detection`` entry, outputs or anchors do not fit together.
    """
    from dirnet.deploy import fileformat, load

    runtime = load(path, threads=threads, kernel=kernel)
    header = runtime.header
    if not is_detector_header(header):
        raise ValueError(f"{os.fspath(path)!r} is not a detector file (its header has no "
                         f"'{DETECTION_KEY}' entry)")
    entry = header[DETECTION_KEY]
    where = os.fspath(path)
    try:
        levels, num_classes = int(entry["levels"]), int(entry["num_classes"])
        int(entry["input_size"])
        entry["normalize"]["mean"], entry["normalize"]["std"]  # noqa: B018 - presence check
    except (KeyError, TypeError, ValueError) as exc:
        raise fileformat.FormatError(f"{where}: malformed '{DETECTION_KEY}' entry ({exc!r})") from None
    want = [f"{k}{i}" for i in range(levels) for k in ("loc", "conf")]
    if sorted(runtime.output_names) != sorted(want) or header.get("output_structure") != "dict":
        raise fileformat.FormatError(f"{where}: a detector file must output the dict {want}, "
                                     f"got {runtime.output_names}")
    # the native loader has read and checked the file; take the one tensor it does not keep
    from safetensors import safe_open

    with safe_open(os.fspath(path), framework="np") as f:
        stored = f.get_tensor(ANCHORS_TENSOR) if ANCHORS_TENSOR in f.keys() else None
    if stored is not None:
        anchors = torch.from_numpy(np.array(stored, dtype=np.float32))
    else:  # no tensor: rebuild them from the recorded settings
        a = entry["anchors"]
        anchors = default_boxes(a["feature_sizes"], a["aspect_ratios"], a["scales"])
    if anchors.ndim != 2 or anchors.shape[1] != 4:
        raise fileformat.FormatError(f"{where}: {ANCHORS_TENSOR} must be (A, 4), got "
                                     f"{tuple(anchors.shape)}")
    # the anchors must be as many as the boxes the maps predict at the recorded input size
    side = int(entry["input_size"])
    shapes = dict(zip(runtime.output_names,
                      runtime._model.output_shapes([1, runtime.in_channels, side, side])))
    boxes = sum(int(np.prod(shapes[f"loc{i}"][1:])) // 4 for i in range(levels))
    scores = sum(int(np.prod(shapes[f"conf{i}"][1:])) for i in range(levels))
    if boxes != anchors.shape[0] or scores != boxes * (num_classes + 1):
        raise fileformat.FormatError(
            f"{where}: at {side}x{side} the maps predict {boxes} boxes and {scores} scores; "
            f"the file has {anchors.shape[0]} anchors and {num_classes} + 1 classes")
    return NativeDetector(runtime, anchors)


def run_settings(cfg: Any) -> dict[str, Any]:
    """The run settings a detector file keeps for ``dirnet eval`` (a partial RunConfig dict)."""
    return {"seed": cfg.seed, "method": cfg.method,
            "model": {"arch": cfg.model.arch, "input_size": cfg.model.input_size},
            "data": {"name": cfg.data.name, "root": cfg.data.root, "classes": cfg.data.classes,
                     "test_subset": cfg.data.test_subset, "eval_batch_size": cfg.data.eval_batch_size}}


def config_from_header(header: dict[str, Any]):
    """The RunConfig ``dirnet eval`` evaluates a detector file with (defaults + the stored
    settings); raises ValueError when the file does not record them."""
    from dirnet.config import RunConfig

    settings = header[DETECTION_KEY].get("config")
    if not isinstance(settings, dict):
        raise ValueError("the file does not record its data set (exported without a run "
                         "config); pass --data-root DIR")
    return RunConfig.from_dict(settings)
