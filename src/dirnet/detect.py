"""``dirnet detect``: a trained detector's boxes drawn on images (and written as JSON).

    dirnet detect runs/ssd_resnet20_dirnet_bccd img1.jpg img2.png -o out/ --json
    dirnet detect det.dbnn img1.jpg -o out/      # a `dirnet export`ed detector, run natively

Each image is resized to the run's ``model.input_size`` squared exactly as
the evaluation loader does (the loader itself makes the batch, with its
normalisation), the detector's output goes through
``dirnet.detection.postprocess`` (``--score-threshold``, ``--iou-threshold``),
and the boxes, mapped back to the original image's pixels, are drawn by
``dirnet.detection.draw`` into ``OUT/<image stem>.png``. ``--json`` adds
``OUT/detections.json``.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DESCRIPTION = "draw a detector's boxes on images (and write them as JSON)"


@dataclass
class _ImageList:
    """The images as a dataset the detection loader takes (no boxes): what lets
    ``DetectionLoader(train=False)`` resize and normalise them as in evaluation."""

    annotations: list[Any]

    def __len__(self) -> int:
        return len(self.annotations)

    def open_image(self, index: int):
        from PIL import Image

        return Image.open(self.annotations[index].image_path)


def _check_images(paths: list[str]) -> list[Any]:
    """A VOCAnnotation without boxes per image; one-line errors for missing or unreadable files."""
    from PIL import Image, UnidentifiedImageError

    from dirnet.detection import VOCAnnotation

    anns, stems = [], {}
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise FileNotFoundError(f"no such image: {p}")
        if path.is_dir():
            raise IsADirectoryError(f"{p} is a directory, not an image")
        try:
            with Image.open(path) as im:
                im.load()  # decode it all: a truncated file fails here, before anything is written
                width, height = im.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise ValueError(f"{p}: cannot read image ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else 'unreadable'})") from None
        if path.stem in stems:
            raise ValueError(f"{stems[path.stem]} and {p} would both be drawn to {path.stem}.png: "
                             "give images with different names")
        stems[path.stem] = p
        anns.append(VOCAnnotation(
            image_id=path.stem, image_path=path, width=width, height=height,
            boxes=np.zeros((0, 4), np.float32), labels=np.zeros(0, np.int64),
            difficult=np.zeros(0, bool)))
    return anns


def detect_images(model, images: list[str | Path], input_size: int, *,
                  score_threshold: float = 0.3, iou_threshold: float = 0.45,
                  batch_size: int = 16) -> list[dict[str, Any]]:
    """Per image file: ``{"width", "height", "boxes" float (n, 4) xyxy in the image's pixels,
    "labels" int (n,), "scores" (n,)}`` of ``model`` (an SSD; put in eval mode)."""
    return _detect(model, _check_images([str(i) for i in images]), input_size,
                   score_threshold=score_threshold, iou_threshold=iou_threshold,
                   batch_size=batch_size)


def _detect(model, anns: list[Any], input_size: int, *, score_threshold: float,
            iou_threshold: float, batch_size: int = 16) -> list[dict[str, Any]]:
    import torch

    from dirnet import detection as det

    norm = {k: tuple(getattr(model, k)) for k in ("mean", "std") if hasattr(model, k)}  # a .dbnn's
    loader = det.DetectionLoader(_ImageList(anns), batch_size, train=False,
                                 input_size=input_size, seed=0, **norm)
    out = []
    model.eval()
    with torch.no_grad():
        for x, targets in loader:
            loc, conf = model(x)
            dets = det.postprocess(loc, conf, model.anchors, score_threshold=score_threshold,
                                   iou_threshold=iou_threshold)
            for d, t in zip(dets, targets):
                h, w = (int(v) for v in t["orig_size"])
                scale = torch.tensor([w, h, w, h], dtype=torch.float32)
                out.append({"width": w, "height": h, "boxes": (d["boxes"] * scale).numpy(),
                            "labels": d["labels"].numpy(), "scores": d["scores"].numpy()})
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="dirnet detect", description=DESCRIPTION,
        epilog="Writes OUT/<image stem>.png per image (boxes with class name and score), and "
               "with --json OUT/detections.json (per image: boxes xyxy in pixels, labels as "
               "class names, scores).")
    p.add_argument("target", help="detector run directory, checkpoint (.pt) or .dbnn file "
                                  "(from `dirnet export`: runs on the native engine)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any Pillow format)")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="output folder (created if missing)")
    p.add_argument("--score-threshold", type=float, default=0.3, metavar="S",
                   help="keep boxes whose class score exceeds S (default 0.3)")
    p.add_argument("--iou-threshold", type=float, default=0.45, metavar="I",
                   help="per-class NMS: a box overlapping a better one by IoU > I is dropped "
                        "(default 0.45)")
    p.add_argument("--which", default="last", help="checkpoint in a run directory (last or best)")
    p.add_argument("--json", action="store_true", help="also write OUT/detections.json")
    a = p.parse_args(argv)
    if not 0.0 <= a.score_threshold < 1.0:
        p.error("--score-threshold must lie in [0, 1)")
    if not 0.0 < a.iou_threshold <= 1.0:
        p.error("--iou-threshold must lie in (0, 1]")
    out_dir = Path(a.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"-o {a.out} is a file; give a folder for the drawn images")
    anns = _check_images(a.images)

    if Path(a.target).suffix == ".dbnn":  # the network runs natively, decoding as for a run
        from dirnet.deploy.detector import is_detector_header, load_detector
        from dirnet.deploy.fileformat import read

        if not is_detector_header(read(a.target)[0]):
            raise ValueError(f"{a.target!r} is a classifier file, not a detector: dirnet detect "
                             "needs a detector exported with `dirnet export`")
        model = load_detector(a.target)
        names = list(model.class_names or [str(c) for c in range(model.num_classes)])
        size = model.input_size
    else:
        from dirnet.checkpoint import config_of, load, model_from

        ck = load(a.target, a.which)
        cfg = config_of(ck)
        model = model_from(ck)
        if not hasattr(model, "anchors"):
            raise ValueError(f"{a.target!r} is a classifier (trained on {cfg.data.name}), not a "
                             "detector: dirnet detect needs a run trained with data.name=voc")
        names = list(ck.get("class_names") or cfg.data.classes or
                     [str(c) for c in range(model.num_classes)])
        size = int(cfg.model.input_size)
    results = _detect(model, anns, size, score_threshold=a.score_threshold,
                      iou_threshold=a.iou_threshold)

    from PIL import Image

    from dirnet.detection.draw import draw_boxes

    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for ann, r in zip(anns, results):
        png = out_dir / f"{ann.image_id}.png"
        with Image.open(ann.image_path) as im:
            draw_boxes(im, r["boxes"], r["labels"], r["scores"], class_names=names).save(png)
        labels = [names[int(c)] for c in r["labels"]]
        counts = {n: labels.count(n) for n in names if n in labels}
        what = ", ".join(f"{n} {k}" for n, k in counts.items()) or "nothing"
        print(f"{ann.image_path}: {len(labels)} boxes ({what}) -> {png}")
        records.append({
            "image": str(ann.image_path), "output": str(png), "width": r["width"],
            "height": r["height"],
            "boxes": [[round(float(v), 2) for v in b] for b in r["boxes"]],
            "labels": labels, "scores": [round(float(s), 4) for s in r["scores"]]})
    if a.json:
        payload = {"model": str(a.target), "classes": names,
                   "input_size": size,
                   "score_threshold": a.score_threshold, "iou_threshold": a.iou_threshold,
                   "box_format": "xyxy, pixels of the original image (continuous coordinates)",
                   "images": records}
        (out_dir / "detections.json").write_text(json.dumps(payload, indent=2) + "\n")
        print(f"detections: {out_dir / 'detections.json'}")
    return 0
