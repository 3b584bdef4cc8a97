"""Pascal VOC-format detection data: any folder with JPEGImages/, Annotations/, ImageSets/Main/.

    ROOT/
      JPEGImages/<id>.jpg          (or the <filename> an annotation names, or <id>.png ...)
      Annotations/<id>.xml
      ImageSets/Main/<split>.txt   (one image id per line)

Coordinates. VOC numbers pixels from 1 and its boxes are inclusive
(``xmin = 1, xmax = width`` covers the whole image). Here a box is a float32
``(x0, y0, x1, y1)`` in continuous 0-based pixel coordinates, where pixel ``i``
(1-based) spans ``[i - 1, i]``:  ``x0 = xmin - 1, y0 = ymin - 1, x1 = xmax,
y1 = ymax``; a full-image box is ``(0, 0, W, H)`` and its area is ``W * H``
(no VOC "+1"). A ``xmin``/``ymin`` of 0 (tools that write 0-based values) is
accepted and clamped to 0.

Checks. A box with ``xmax <= xmin`` or ``ymax <= ymin`` in the file (zero or
negative area, e.g. BCCD's single-point boxes) is skipped with a warning naming
the file and the box; a box beyond the image (``xmin < 0``, ``xmax > width``,
...) is a ValueError; ``xmax == width`` (a truncated box at the border) is fine.
Annotations are parsed once, at construction, and kept in memory; images are
decoded per index.
"""
from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["VOCAnnotation", "VOCDataset", "discover_classes", "parse_annotation", "read_split"]

_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".JPG", ".JPEG", ".PNG")


@dataclass(frozen=True)
class VOCAnnotation:
    """One image's annotation: boxes float32 (N, 4) xyxy 0-based pixels, labels int64 (N,)
    0-based class indices, difficult bool (N,)."""

    image_id: str
    image_path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray


def _text(node: ET.Element, tag: str, where: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise ValueError(f"{where}: missing <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, where: str) -> float:
    text = _text(node, tag, where)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: <{tag}> is not a number: {text!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{where}: <{tag}> is not finite: {text!r}")
    return value


def _parse_xml(xml_path: Path) -> ET.Element:
    if not xml_path.is_file():
        raise FileNotFoundError(f"annotation not found: {xml_path}")
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise ValueError(f"{xml_path}: malformed XML ({e})") from None
    if root.tag != "annotation":
        raise ValueError(f"{xml_path}: root element is <{root.tag}>, expected <annotation>")
    return root


def _object_names(xml_path: Path) -> list[str]:
    return [_text(o, "name", f"{xml_path}: <object> {i}")
            for i, o in enumerate(_parse_xml(xml_path).iter("object"))]


def discover_classes(root: str | os.PathLike) -> tuple[str, ...]:
    """Sorted class names over every ``Annotations/*.xml`` of ``root``.

    All XML files, not one split's, so that every split of a root gets the same
    class indices even when a class is missing from one of them.
    """
    ann_dir = Path(root) / "Annotations"
    if not ann_dir.is_dir():
        raise FileNotFoundError(f"no Annotations/ folder in {root}")
    names = {n for f in sorted(ann_dir.glob("*.xml")) for n in _object_names(f)}
    if not names:
        raise ValueError(f"{ann_dir}: no <object> in any annotation; pass classes=[...]")
    return tuple(sorted(names))


def read_split(root: str | os.PathLike, split: str) -> list[str]:
    """Image ids listed in ``ROOT/ImageSets/Main/<split>.txt`` (blank lines ignored)."""
    path = Path(root) / "ImageSets" / "Main" / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path}")
    ids = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise ValueError(f"{path}: lists no image ids")
    return ids


def _find_image(root: Path, image_id: str, filename: str | None) -> Path:
    folder = root / "JPEGImages"
    candidates = [folder / f"{image_id}.jpg"]
    if filename:
        candidates.append(folder / Path(filename).name)
    candidates += [folder / f"{image_id}{ext}" for ext in _IMAGE_EXTENSIONS]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"image for {image_id!r} not found in {folder}")


def parse_annotation(
    root: str | os.PathLike, image_id: str, class_index: dict[str, int] | None
) -> tuple[VOCAnnotation, list[str]]:
    """Read ``Annotations/<image_id>.xml``; returns the annotation and its raw class names.

    With ``class_index`` (name -> index) an unknown name is a ValueError; without it
    labels are -1 and the caller assigns them from the names.
    """
    root = Path(root)
    xml_path = root / "Annotations" / f"{image_id}.xml"
    node = _parse_xml(xml_path)
    size = node.find("size")
    filename = node.findtext("filename")
    image_path = _find_image(root, image_id, filename.strip() if filename else None)
    width = height = 0
    if size is not None and size.findtext("width") and size.findtext("height"):
        width = int(_number(size, "width", str(xml_path)))
        height = int(_number(size, "height", str(xml_path)))
    if width <= 0 or height <= 0:  # some VOC-like tools write 0: ask the image header
        with Image.open(image_path) as im:
            width, height = im.size
    boxes, names, difficult = [], [], []
    for i, obj in enumerate(node.iter("object")):
        where = f"{xml_path}: <object> {i}"
        name = _text(obj, "name", where)
        bnd = obj.find("bndbox")
        if bnd is None:
            raise ValueError(f"{where} ({name}): missing <bndbox>")
        x0, y0, x1, y1 = (_number(bnd, t, where) for t in ("xmin", "ymin", "xmax", "ymax"))
        if x1 <= x0 or y1 <= y0:
            warnings.warn(f"{xml_path.name}: skipping degenerate box {i} ({name}: xmin={x0:g}, "
                          f"ymin={y0:g}, xmax={x1:g}, ymax={y1:g})", stacklevel=3)
            continue
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise ValueError(f"{where} ({name}): box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies "
                             f"outside the {width}x{height} image")
        if class_index is not None and name not in class_index:
            raise ValueError(f"{where}: class {name!r} is not one of {sorted(class_index)}")
        flag = obj.findtext("difficult")
        boxes.append((max(x0 - 1.0, 0.0), max(y0 - 1.0, 0.0), x1, y1))
        names.append(name)
        difficult.append(bool(flag) and flag.strip() not in ("0", "false", "False"))
    labels = [class_index[n] if class_index is not None else -1 for n in names]
    ann = VOCAnnotation(
        image_id=image_id, image_path=image_path, width=width, height=height,
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        labels=np.asarray(labels, dtype=np.int64), difficult=np.asarray(difficult, dtype=bool))
    return ann, names


class VOCDataset:
    """The images of one split of a VOC-format folder, annotations held in memory.

    ``classes`` fixes the class names and their order (label = position); an
    object of another class is then a ValueError. Without it the classes are
    :func:`discover_classes` of ``root`` (sorted names over all annotations).
    ``dataset[i]`` is ``(image uint8 (H, W, 3) RGB, VOCAnnotation)``.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", *,
                 classes: Sequence[str] | None = None) -> None:
        self.root = Path(root)
        for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
            if not (self.root / sub).is_dir():
                raise FileNotFoundError(
                    f"{self.root} is not a VOC-format folder: {sub}/ is missing (expected "
                    "JPEGImages/, Annotations/ and ImageSets/Main/<split>.txt)")
        if classes is None:
            classes = discover_classes(self.root)
        elif isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes must be a sequence of names, got {classes!r}")
        if not classes or len(set(classes)) != len(classes):
            raise ValueError(f"classes must be non-empty and unique, got {list(classes)}")
        self.classes: tuple[str, ...] = tuple(classes)
        self.split = split
        index = {c: i for i, c in enumerate(self.classes)}
        self.annotations: list[VOCAnnotation] = [
            parse_annotation(self.root, image_id, index)[0]
            for image_id in read_split(self.root, split)]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.annotations)

    def open_image(self, index: int) -> Image.Image:
        """The lazily decoded Pillow image (lets a caller ask JPEG for a reduced ``draft``)."""
        ann = self.annotations[index]
        try:
            image = Image.open(ann.image_path)
        except OSError as e:
            raise ValueError(f"{ann.image_path}: cannot read image ({e})") from None
        if image.size != (ann.width, ann.height):
            image.close()
            raise ValueError(f"{ann.image_path}: image is {image.size[0]}x{image.size[1]}, "
                             f"its annotation says {ann.width}x{ann.height}")
        return image

    def load_image(self, index: int) -> np.ndarray:
        """Image ``index`` as uint8 (H, W, 3) RGB."""
        with self.open_image(index) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)

    def __getitem__(self, index: int) -> tuple[np.ndarray, VOCAnnotation]:
        return self.load_image(index), self.annotations[index]

    def __repr__(self) -> str:
        return (f"VOCDataset({str(self.root)!r}, split={self.split!r}, images={len(self)}, "
                f"classes={list(self.classes)})")
