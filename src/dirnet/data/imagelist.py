"""Image lists: ``ROOT/train.txt`` (and ``ROOT/val.txt``) of ``path label`` lines.

The samples become :class:`~dirnet.data.imagefolder.ImageFolderDataset`s, so
decoding (Pillow, ``draft``), the eval transform and ``rrc_flip``/``flip`` are
exactly those of the ``imagefolder`` data set; only where the (path, label)
pairs come from differs.

Line format: ``PATH LABEL``. LABEL is the last whitespace-separated token and
PATH everything before it (so a path may hold spaces); a relative PATH is
relative to ROOT. Blank lines and lines starting with ``#`` are skipped.
Labels are either all class indices (non-negative integers) or all class
names, per file:

* names: the classes are the sorted distinct names of train.txt, and a
  name's label is its position;
* indices: the label is the index itself; ``num_classes`` is the largest
  index of train.txt + 1 and ``class_names`` are ``"0"``, ``"1"``, ... (an
  index that no training line uses still has its slot).

val.txt (the test set) uses the same kind of label as train.txt and only
classes train.txt has. Every listed file must exist when the list is read.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .imagefolder import ImageFolderDataset

__all__ = ["IMAGELIST_LAYOUT", "read_image_list", "read_imagelist"]

IMAGELIST_LAYOUT = """expected image lists of 'PATH LABEL' lines (PATH relative to ROOT or absolute;
LABEL a class index 0, 1, ... or a class name, one kind per file):
  ROOT/
    train.txt
    val.txt     (optional; becomes the test set)"""

_INDEX = re.compile(r"\d+")
_NEGATIVE = re.compile(r"-\d+")
_SHOW_MISSING = 3


def read_image_list(
    list_file: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> tuple[list[tuple[str, str, int]], bool]:
    """``([(path, label token, line number), ...], labels_are_indices)`` of one list file.

    Paths are joined to ``root`` (default: the list's folder) unless absolute,
    and must exist (the error names the first few missing ones).
    """
    list_file = Path(list_file)
    root = list_file.parent if root is None else Path(root)
    if not list_file.is_file():
        raise FileNotFoundError(f"image list {list_file} does not exist; {IMAGELIST_LAYOUT}")
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"image list {list_file} is not a text file "
                         f"(byte {e.start} is not UTF-8)") from None
    samples: list[tuple[str, str, int]] = []
    kind: tuple[bool, int] | None = None
    missing: list[str] = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2:
            raise ValueError(f"{list_file}:{n}: expected 'PATH LABEL', got {line[:80]!r}")
        path, label = parts
        if _NEGATIVE.fullmatch(label):
            raise ValueError(f"{list_file}:{n}: class index {label} is negative")
        is_index = bool(_INDEX.fullmatch(label))
        if kind is None:
            kind = (is_index, n)
        elif kind[0] != is_index:
            raise ValueError(f"{list_file}:{n}: label {label!r} is a class "
                             f"{'index' if is_index else 'name'} but line {kind[1]} has a class "
                             f"{'name' if is_index else 'index'}; use one kind per file")
        full = path if os.path.isabs(path) else os.path.join(root, path)
        if not os.path.isfile(full):
            missing.append(f"{full} (line {n})")
        samples.append((full, label, n))
    if not samples:
        raise ValueError(f"image list {list_file} lists no images; {IMAGELIST_LAYOUT}")
    if missing:
        shown = ", ".join(missing[:_SHOW_MISSING])
        more = f" and {len(missing) - _SHOW_MISSING} more" if len(missing) > _SHOW_MISSING else ""
        raise FileNotFoundError(f"{list_file}: {len(missing)} of {len(samples)} listed images "
                                f"are missing: {shown}{more}")
    assert kind is not None
    return samples, kind[0]


def _labelled(list_file: Path, pairs: list[tuple[str, str, int]], index: dict[str, int],
              num_classes: int, indices: bool) -> list[tuple[str, int]]:
    out = []
    for path, label, n in pairs:
        y = int(label) if indices else index.get(label)
        if y is None or y >= num_classes:
            what = f"class index {label}" if indices else f"class {label!r}"
            raise ValueError(f"{list_file}:{n}: {what} is not a class of train.txt "
                             f"({num_classes} classes)")
        out.append((path, y))
    return out


def read_imagelist(
    root: str | os.PathLike[str], image_size: int = 224
) -> tuple[ImageFolderDataset, ImageFolderDataset | None]:
    """(train, test) from ROOT/train.txt and ROOT/val.txt (test is None without val.txt)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image list root {root} does not exist; {IMAGELIST_LAYOUT}")
    train_pairs, indices = read_image_list(root / "train.txt", root)
    if indices:
        num_classes = max(int(y) for _, y, _ in train_pairs) + 1
        names = [str(i) for i in range(num_classes)]
    else:
        names = sorted({y for _, y, _ in train_pairs})
        num_classes = len(names)
    index = {c: i for i, c in enumerate(names)}
    train = ImageFolderDataset(_labelled(root / "train.txt", train_pairs, index, num_classes,
                                         indices), names, image_size)
    test = None
    if (root / "val.txt").exists():
        val_pairs, val_indices = read_image_list(root / "val.txt", root)
        if val_indices != indices:
            raise ValueError(f"{root / 'val.txt'} has class {'indices' if val_indices else 'names'}"
                             f" but train.txt has class {'indices' if indices else 'names'}; "
                             f"use the same kind in both")
        test = ImageFolderDataset(_labelled(root / "val.txt", val_pairs, index, num_classes,
                                            indices), names, image_size)
    return train, test
