"""A synthetic VOC-format data set (coloured shapes on noise), for tests and smoke runs.

Detection code needs a data set on disk to be exercised end to end; this one
is written in well under a second, so tests and a trainer's CI do not depend
on a downloaded data set. Objects are filled squares, discs and triangles (one
class each, in that order); their boxes are exact: a shape covering pixel
columns ``x0 .. x1 - 1`` gets VOC's ``xmin = x0 + 1, xmax = x1``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["TOY_CLASSES", "make_toy_voc", "voc_xml"]

TOY_CLASSES: tuple[str, ...] = ("square", "disc", "triangle")


def voc_xml(filename: str, width: int, height: int,
            objects: Sequence[tuple[str, Sequence[float], bool]], depth: int = 3) -> str:
    """The XML of one VOC annotation; objects are ``(name, (xmin, ymin, xmax, ymax), difficult)``
    in VOC's own 1-based inclusive numbers."""
    parts = [f"<annotation><folder>JPEGImages</folder><filename>{filename}</filename>",
             f"<size><width>{width}</width><height>{height}</height><depth>{depth}</depth></size>"]
    for name, box, difficult in objects:
        coords = "".join(f"<{t}>{v:g}</{t}>" for t, v in zip(("xmin", "ymin", "xmax", "ymax"), box))
        parts.append(f"<object><name>{name}</name><truncated>0</truncated>"
                     f"<difficult>{int(difficult)}</difficult><bndbox>{coords}</bndbox></object>")
    return "".join(parts) + "</annotation>\n"


def make_toy_voc(root: str | os.PathLike, num_images: int = 24, *, size: tuple[int, int] = (96, 72),
                 max_objects: int = 3, splits: Sequence[tuple[str, float]] = (
                     ("train", 0.5), ("val", 0.25), ("test", 0.25)),
                 seed: int = 0, image_format: str = "JPEG") -> Path:
    """Write ``num_images`` toy images with annotations and split files under ``root``.

    Splits take consecutive images by the given fractions (the last one takes
    the rest). Every image holds 1 .. ``max_objects`` shapes at least 8 px wide.
    """
    root = Path(root)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    ext = ".jpg" if image_format == "JPEG" else f".{image_format.lower()}"
    ids = [f"toy_{i:05d}" for i in range(num_images)]
    for image_id in ids:
        noise = rng.integers(60, 140, (height, width, 3), dtype=np.uint8)
        image = Image.fromarray(noise)
        draw = ImageDraw.Draw(image)
        objects = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            cls = int(rng.integers(len(TOY_CLASSES)))
            w = int(rng.integers(8, max(9, width // 2)))
            h = int(rng.integers(8, max(9, height // 2)))
            x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            colour = tuple(int(c) for c in rng.integers(150, 256, 3))
            x1, y1 = x0 + w - 1, y0 + h - 1  # inclusive pixel corners for ImageDraw
            if cls == 0:
                draw.rectangle((x0, y0, x1, y1), fill=colour)
            elif cls == 1:
                draw.ellipse((x0, y0, x1, y1), fill=colour)
            else:
                draw.polygon([(x0, y1), (x1, y1), ((x0 + x1) // 2, y0)], fill=colour)
            objects.append((TOY_CLASSES[cls], (x0 + 1, y0 + 1, x0 + w, y0 + h), False))
        image.save(root / "JPEGImages" / f"{image_id}{ext}", format=image_format)
        (root / "Annotations" / f"{image_id}.xml").write_text(
            voc_xml(f"{image_id}{ext}", width, height, objects))
    start = 0
    for k, (name, frac) in enumerate(splits):
        stop = num_images if k == len(splits) - 1 else start + int(round(frac * num_images))
        (root / "ImageSets" / "Main" / f"{name}.txt").write_text(
            "".join(f"{i}\n" for i in ids[start:stop]))
        start = stop
    return root
