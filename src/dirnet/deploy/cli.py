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


def export_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dirnet export", description="write a bit-packed .dbnn file from a checkpoint")
    p.add_argument("checkpoint", help="run directory or checkpoint (.pt)")
    p.add_argument("-o", "--output", required=True, help="output .dbnn path")
    p.add_argument("--precision", choices=("fp16", "fp32"), default="fp16",
                   help="storage of the full-precision weights (default fp16; fp32 for exact logits)")
    p.add_argument("--which", default="last", help="checkpoint in a run directory: last or best")
    p.add_argument("--no-class-names", action="store_true", help="do not read the data set's class names")
    a = p.parse_args(argv)
    from dirnet.checkpoint import config_of, load, model_from
    from dirnet.deploy.exporter import export
    from dirnet.deploy.fileformat import check_output

    check_output(a.output)  # before any work: an output directory, a missing folder
    ck = load(a.checkpoint, a.which)
    model, cfg = model_from(ck), config_of(ck)
    if hasattr(model, "anchors"):  # an SSD: its raw prediction maps + what decoding needs
        return _export_detector(a, ck, model, cfg)
    size = (int(ck["in_channels"]), int(ck.get("image_size", 32)), int(ck.get("image_size", 32)))
    names = None if a.no_class_names else _class_names(cfg)
    out = export(model, a.output, precision=a.precision, input_size=size, class_names=names,
                 extra={"data": data_entry(cfg)})
    print(f"wrote {out} ({Path(out).stat().st_size / 1024:.1f} KiB, {a.precision})")
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
