"""``dirnet export CKPT -o model.dbnn``: a trained checkpoint as a packed .dbnn file."""
from __future__ import annotations

import argparse
from pathlib import Path

from dirnet.config import RunConfig


def _class_names(cfg: RunConfig) -> list[str] | None:
    """The data set's class names when its files are at hand (best effort)."""
    try:
        from dirnet.data import build

        bundle = build(cfg.data.name, cfg.data.root, val_size=0, seed=cfg.seed)
        names = getattr(bundle.test, "class_names", None)
        return [str(n) for n in names] if names is not None else None
    except Exception:  # noqa: BLE001 - class names are optional metadata
        return None


def data_entry(cfg: RunConfig) -> dict:
    """The header's ``data`` entry: what ``dirnet eval model.dbnn`` evaluates on by default
    (the training data set, and the same first ``test_subset`` test images as the run)."""
    return {"name": cfg.data.name, "root": cfg.data.root, "seed": cfg.seed,
            "val_size": cfg.data.val_size, "test_subset": cfg.data.test_subset}


CALIB_BATCH = 64        # images per calibration batch
CALIB_BATCHES = 8       # default --calib-batches: 512 training images


def calibration_batches(cfg: RunConfig, data_root: str | None = None, n_batches: int = CALIB_BATCHES,
                        batch_size: int = CALIB_BATCH) -> list:
    """Input batches for int8 calibration: ``n_batches`` x ``batch_size`` images of the run's
    *training* part (its validation hold-out and the test split excluded), a random subset
    fixed by the run's seed, normalised as in training, without augmentation."""
    import torch

    from dirnet.data import BatchLoader, build

    if n_batches < 1:
        raise ValueError(f"--calib-batches must be at least 1, got {n_batches}")
    root = data_root if data_root is not None else cfg.data.root
    bundle = build(cfg.data.name, root, val_size=cfg.data.val_size, seed=cfg.seed)
    ds = bundle.train
    n = min(len(ds), n_batches * batch_size)
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(cfg.seed))[:n]
    loader = BatchLoader(ds.subset(order), batch_size, train=False, augment=None, seed=0,
                         mean=bundle.mean, std=bundle.std)
    return [x for x, _ in loader]


def export_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dirnet export", description="write a bit-packed .dbnn file from a checkpoint")
    p.add_argument("checkpoint", help="run directory or checkpoint (.pt)")
    p.add_argument("-o", "--output", required=True, help="output .dbnn path")
    p.add_argument("--precision", choices=("fp16", "fp32", "int8"), default="fp16",
                   help="storage of the full-precision weights (default fp16; fp32 for exact logits; int8: "
                        "int8 convs/linears with calibrated input scales, needs --calibrate)")
    p.add_argument("--calibrate", metavar="RUN",
                   help="int8: run directory or checkpoint whose training data (its own preprocessing, "
                        "no augmentation) calibrates the activation ranges; usually CHECKPOINT itself")
    p.add_argument("--data-root", metavar="DIR", help="int8: data root of the calibration data (default: the run's)")
    p.add_argument("--calib-batches", type=int, default=CALIB_BATCHES, metavar="N",
                   help=f"int8: calibration batches of {CALIB_BATCH} training images (default {CALIB_BATCHES})")
    p.add_argument("--calib-estimator", choices=("mse", "max"), default="mse",
                   help="int8: activation range estimator (default mse)")
    p.add_argument("--int8-stem", choices=("auto", "int8", "fp32"), default="auto",
                   help="int8: the layers reading the network input. auto (default): int8 unless that changes "
                        "the top-1 class of more than 0.5%% of 256 calibration images; fp32 keeps them full "
                        "precision (stem-sensitive models)")
    p.add_argument("--which", default="last", help="checkpoint in a run directory: last or best")
    p.add_argument("--no-class-names", action="store_true", help="do not read the data set's class names")
    a = p.parse_args(argv)
    from dirnet.checkpoint import config_of, load, model_from
    from dirnet.deploy.exporter import export
    from dirnet.deploy.fileformat import check_output

    check_output(a.output)  # before any work: an output directory, a missing folder
    if a.precision == "int8" and not a.calibrate:
        p.error("--precision int8 needs --calibrate RUN (the run whose training data calibrates the ranges)")
    if a.precision != "int8" and (a.calibrate or a.data_root or a.int8_stem != "auto"):
        p.error("--calibrate, --data-root and --int8-stem apply to --precision int8 only")
    ck = load(a.checkpoint, a.which)
    model, cfg = model_from(ck), config_of(ck)
    if hasattr(model, "anchors"):  # an SSD: its raw prediction maps + what decoding needs
        if a.precision == "int8":
            p.error("--precision int8 is not supported for detectors (export them as fp16 or fp32)")
        return _export_detector(a, ck, model, cfg)
    size = (int(ck["in_channels"]), int(ck.get("image_size", 32)), int(ck.get("image_size", 32)))
    names = None if a.no_class_names else _class_names(cfg)
    kw = {}
    if a.precision == "int8":
        calib_cfg = config_of(load(a.calibrate, a.which)) if a.calibrate != a.checkpoint else cfg
        kw = {"calibration": calibration_batches(calib_cfg, a.data_root, a.calib_batches),
              "calibration_estimator": a.calib_estimator, "quantize_stem": {"auto": "auto", "int8": True, "fp32": False}[a.int8_stem]}
    out = export(model, a.output, precision=a.precision, input_size=size, class_names=names,
                 extra={"data": data_entry(cfg)}, **kw)
    note = ""
    if a.precision == "int8":
        from dirnet.deploy.runtime import load as load_rt

        q = load_rt(out, threads=1).header.get("quantization", {})
        note = (f"; calibrated on {q.get('images')} training images in {q.get('seconds')} s ({q.get('estimator')})"
                f"; stem {q.get('stem')}")
    print(f"wrote {out} ({Path(out).stat().st_size / 1024:.1f} KiB, {a.precision}{note})")
    return 0


def _export_detector(a: argparse.Namespace, ck: dict, model, cfg: RunConfig) -> int:
    """A detection run: the network up to its prediction convs, the anchors and the settings
    ``dirnet eval`` / ``dirnet detect`` decode with (dirnet.deploy.detector)."""
    from dirnet.deploy.detector import export_detector, run_settings

    names = None
    if not a.no_class_names:
        names = [str(n) for n in (ck.get("class_names") or cfg.data.classes or [])] or None
    out = export_detector(model, a.output, precision=a.precision, class_names=names,
                          config=run_settings(cfg), arch=cfg.model.arch,
                          extra={"data": data_entry(cfg)})
    print(f"wrote {out} ({Path(out).stat().st_size / 1024:.1f} KiB, {a.precision}; detector: "
          f"{model.num_classes} classes, {model.num_anchors} anchors at {model.input_size}px)")
    return 0
