"""``dirnet data arrange-val``: ImageNet's flat validation folder -> one folder per class.

The official ILSVRC2012 validation set is one folder of 50,000 JPEGs plus a
label file; ``imagefolder`` wants ``ROOT/val/<class>/``. :func:`plan_arrange`
reads the label file, matches it against the folder and checks everything
(nothing is written when anything is wrong); :func:`execute` then links,
copies or moves the images. :func:`arrange_val` does both.

Label files (the format is recognised from the content):

* **CSV** (Kaggle's ``LOC_val_solution.csv``): ``ImageId,PredictionString``
  rows; the class is the first token of the second field
  (``ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...``). The header
  line is optional. ``ImageId`` may omit the file extension.
* **list**: ``FILENAME LABEL`` lines (two whitespace-separated tokens). LABEL
  is a class name (a wnid such as ``n01440764``, used as the folder name) or,
  with ``synsets``, a **0-based** index into it (Caffe's ``val.txt``).
* **ground truth** (the devkit's ``ILSVRC2012_validation_ground_truth.txt``):
  one **1-based** class index per line, line k for the k-th image in sorted
  file-name order; needs ``synsets``, whose line i names class i. The devkit's
  indices follow its ``meta.mat`` ILSVRC2012_ID order, not sorted wnids: the
  synsets file must be the one that matches the ground-truth file.

A synsets file has one class per line and the first token of each line is
the folder name (``LOC_synset_mapping.txt``: ``n01440764 tench, Tinca tinca``).
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .imagefolder import IMAGE_EXTENSIONS

__all__ = ["MODES", "ArrangePlan", "arrange_val", "execute", "list_images", "plan_arrange",
           "read_label_file", "read_synsets"]

#: how images reach OUT_DIR/<class>/ (symlink is the default)
MODES = ("symlink", "hardlink", "copy", "move")

_INT = re.compile(r"[+-]?\d+")
_KAGGLE_HEADER = "imageid"


@dataclass(frozen=True)
class _Listed:
    key: str     # what the label file names: a file name, with or without extension
    label: str   # the class folder
    where: str   # "LABELS:LINE" for messages


@dataclass
class ArrangePlan:
    """What :func:`execute` will do; every check has passed when one exists."""

    val_dir: Path
    out_dir: Path
    mode: str
    label_format: str                       # "csv", "list" or "ground-truth"
    todo: list[tuple[Path, Path]]           # (source image, destination) pairs
    classes: list[str]                      # sorted class folders of all listed images
    already: int = 0                        # listed images already in place (a re-run)
    unlisted: list[str] = field(default_factory=list)  # left out (allow_unlisted)

    @property
    def images(self) -> int:
        return len(self.todo) + self.already

    def summary(self) -> str:
        verb = {"symlink": "linked", "hardlink": "hard-linked", "copy": "copied",
                "move": "moved"}[self.mode]
        s = (f"{self.images} images of {len(self.classes)} classes -> {self.out_dir}/<class>/ "
             f"({verb} {len(self.todo)}")
        if self.already:
            s += f", {self.already} already in place"
        s += f"; labels read as {self.label_format})"
        if self.unlisted:
            s += (f"; left out {len(self.unlisted)} images not in the label file, "
                  f"e.g. {self.unlisted[0]}")
        return s


def _read_lines(path: Path, what: str) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if not path.is_file():
        raise IsADirectoryError(f"{what} {path} is not a file")
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} {path} is not a text file (byte {e.start} is not UTF-8)") from None


def _check_folder_name(name: str, where: str) -> str:
    if name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{where}: class {name!r} cannot be a folder name")
    return name


def read_synsets(path: str | os.PathLike[str]) -> list[str]:
    """Class folder names in class-index order: the first token of each line (line i = class i)."""
    path = Path(path)
    lines = _read_lines(path, "synsets file")
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    first: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        tok = line.split()
        if not tok:
            raise ValueError(f"{path}:{n}: empty line; a synsets file has one class per line "
                             f"(line i = class i, e.g. 'n01440764 tench, Tinca tinca')")
        name = _check_folder_name(tok[0].rstrip(","), f"{path}:{n}")
        if name in first:
            raise ValueError(f"{path}:{n}: class {name!r} repeats line {first[name]}")
        first[name] = n
        names.append(name)
    if not names:
        raise ValueError(f"synsets file {path} is empty; it needs one class per line")
    return names


def list_images(val_dir: str | os.PathLike[str]) -> list[str]:
    """Sorted names of the image files directly in ``val_dir`` (ImageNet's .JPEG included)."""
    val_dir = Path(val_dir)
    if not val_dir.exists():
        raise FileNotFoundError(f"validation folder {val_dir} does not exist")
    if not val_dir.is_dir():
        raise NotADirectoryError(f"validation folder {val_dir} is not a folder")
    names, subdirs = [], 0
    with os.scandir(val_dir) as it:
        for e in it:
            if e.name.startswith("."):
                continue
            if e.is_dir():
                subdirs += 1
            elif e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS:
                names.append(e.name)
    if not names:
        hint = (f" (it has {subdirs} sub-folders: is it arranged already?)" if subdirs else "")
        raise FileNotFoundError(f"validation folder {val_dir} holds no images "
                                f"({', '.join(IMAGE_EXTENSIONS)}){hint}")
    return sorted(names)


def _index(token: str, names: Sequence[str], base: int, where: str, synsets_path: Path) -> str:
    i = int(token)
    if not base <= i < len(names) + base:
        raise ValueError(f"{where}: class index {i} is out of range {base}..{len(names) + base - 1} "
                         f"({synsets_path} lists {len(names)} classes)")
    return names[i - base]


def read_label_file(
    labels: str | os.PathLike[str],
    images: Sequence[str],
    synsets: Sequence[str] | None = None,
    synsets_path: str | os.PathLike[str] | None = None,
) -> tuple[list[_Listed], str]:
    """The (image, class) entries of a label file, and its format ("csv", "list", "ground-truth").

    ``images`` (sorted file names) is only used by the ground-truth format,
    whose k-th line labels the k-th image.
    """
    labels = Path(labels)
    lines = _read_lines(labels, "label file")
    body = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if not body:
        raise ValueError(f"label file {labels} is empty")
    spath = Path(synsets_path) if synsets_path is not None else Path("SYNSETS")
    known = set(synsets) if synsets is not None else None
    n0, first = body[0]

    def name(label: str, where: str) -> str:
        if known is not None and label not in known:
            raise ValueError(f"{where}: class {label!r} is not in {spath}")
        return _check_folder_name(label, where)

    out: list[_Listed] = []
    if "," in first:                                    # Kaggle's LOC_val_solution.csv
        fmt = "csv"
        for n, line in body:
            where = f"{labels}:{n}"
            cells = [c.strip() for c in line.split(",")]
            if n == n0 and cells[0].lower() == _KAGGLE_HEADER:
                continue
            if len(cells) != 2 or not cells[0] or not cells[1]:
                raise ValueError(f"{where}: expected 'ImageId,PredictionString' (e.g. "
                                 f"'ILSVRC2012_val_00008726,n02119789 255 142 454 329'), "
                                 f"got {line[:80]!r}")
            out.append(_Listed(cells[0], name(cells[1].split()[0], where), where))
    elif len(first.split()) == 1 and _INT.fullmatch(first):   # the devkit's ground truth
        fmt = "ground-truth"
        if synsets is None:
            raise ValueError(f"{labels} holds one class index per line (the devkit's ground "
                             f"truth); pass --synsets FILE whose line i names class i")
        for n in range(n0, body[-1][0] + 1):   # a blank line inside would shift the order
            where = f"{labels}:{n}"
            line = lines[n - 1].strip()
            if not _INT.fullmatch(line):
                raise ValueError(f"{where}: expected one class index per line (the devkit's "
                                 f"ground truth), got {line[:80]!r}")
        if len(body) != len(images):
            raise ValueError(f"{labels} has {len(body)} class indices but the folder holds "
                             f"{len(images)} images; the ground truth gives one index per image, "
                             f"in sorted file-name order")
        for (n, line), img in zip(body, images):
            where = f"{labels}:{n}"
            out.append(_Listed(img, _index(line, synsets, 1, where, spath), where))
    else:                                               # FILENAME LABEL lines
        fmt = "list"
        kind = None
        for n, line in body:
            where = f"{labels}:{n}"
            tok = line.split()
            if len(tok) != 2:
                raise ValueError(f"{where}: expected 'FILENAME LABEL' (two fields), "
                                 f"got {line[:80]!r}")
            is_int = bool(_INT.fullmatch(tok[1]))
            if kind is None:
                kind = (is_int, n)
                if is_int and synsets is None:
                    raise ValueError(f"{where}: label {tok[1]!r} is a class index; pass --synsets "
                                     f"FILE (0-based here: index i is line i+1 of FILE)")
            elif kind[0] != is_int:
                raise ValueError(f"{where}: label {tok[1]!r} is a class "
                                 f"{'index' if is_int else 'name'} but line {kind[1]} has a class "
                                 f"{'name' if is_int else 'index'}; use one kind per file")
            label = _index(tok[1], synsets, 0, where, spath) if is_int else name(tok[1], where)
            out.append(_Listed(tok[0], label, where))
    if not out:
        raise ValueError(f"label file {labels} lists no images")
    return out, fmt


class _Lookup:
    """File names of one folder, found by full name or by name without extension."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = set(names)
        self.stems: dict[str, list[str]] = {}
        for n in names:
            self.stems.setdefault(os.path.splitext(n)[0], []).append(n)

    def find(self, key: str, where: str) -> str | None:
        key = key.replace("\\", "/").rsplit("/", 1)[-1]   # a path: its file name
        if key in self.names:
            return key
        stem, ext = os.path.splitext(key)
        for k in (key, stem) if ext.lower() in IMAGE_EXTENSIONS else (key,):
            hits = self.stems.get(k, [])
            if len(hits) > 1:
                raise ValueError(f"{where}: {key!r} matches several files: {', '.join(hits)}")
            if hits:
                return hits[0]
        return None


def _resolve_out(val_dir: Path, out_dir: str | os.PathLike[str] | None, mode: str) -> Path:
    real_val = val_dir.resolve()
    if out_dir is None:
        out = Path(os.path.abspath(val_dir)).parent / "val"   # also for VAL_DIR "." or "x/.."
        if out.resolve() == real_val and mode != "move":
            raise ValueError(f"{val_dir} is itself named val, the default --out; give --out DIR, "
                             f"rename it first (e.g. to val_flat), or arrange it in place with "
                             f"--mode move")
    else:
        out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output {out} exists and is not a folder")
    real_out = out.resolve()
    if real_out == real_val and mode != "move":
        raise ValueError("--out is the validation folder itself; only --mode move arranges "
                         "in place")
    if real_out in real_val.parents:
        raise ValueError(f"--out {out} contains the validation folder {val_dir}, which would "
                         f"then look like a class folder; choose another --out")
    return out


def _device(path: Path) -> int:
    while not path.exists():
        path = path.parent
    return path.stat().st_dev


def plan_arrange(
    val_dir: str | os.PathLike[str],
    labels: str | os.PathLike[str],
    *,
    synsets: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    mode: str = "symlink",
    allow_unlisted: bool = False,
) -> ArrangePlan:
    """Read and check everything; raise a one-line error, or return what to do.

    ``out_dir`` defaults to VAL_DIR's sibling ``val`` (VAL_DIR itself when it is
    named val and ``mode="move"``: arranged in place). Nothing is written here.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    val_dir = Path(val_dir).expanduser()
    labels = Path(labels).expanduser()
    images = list_images(val_dir)
    if not labels.is_file():  # reported before a missing synsets file
        _read_lines(labels, "label file")
    names = read_synsets(synsets) if synsets is not None else None
    out = _resolve_out(val_dir, out_dir, mode)
    listed, fmt = read_label_file(labels, images, names, synsets)

    here, seen = _Lookup(images), {}
    out_lookup: dict[str, _Lookup] = {}
    missing: list[_Listed] = []
    todo: list[tuple[Path, Path]] = []
    already = 0
    classes = set()
    for e in listed:
        img = here.find(e.key, e.where)
        if img is None:
            if mode == "move":    # moved by an earlier, stopped run?
                if e.label not in out_lookup:
                    d = out / e.label
                    out_lookup[e.label] = _Lookup(os.listdir(d) if d.is_dir() else [])
                done = out_lookup[e.label].find(e.key, e.where)
                if done is not None and done not in seen:
                    seen[done] = e.where
                    already += 1
                    classes.add(e.label)
                    continue
            missing.append(e)
            continue
        if img in seen:
            raise ValueError(f"{e.where}: {img} is listed again (first at {seen[img]})")
        seen[img] = e.where
        classes.add(e.label)
        todo.append((val_dir / img, out / e.label / img))
    if missing:
        more = f" ({len(missing) - 1} more listed images are missing)" if len(missing) > 1 else ""
        raise FileNotFoundError(f"{missing[0].where}: image {missing[0].key!r} is listed but "
                                f"not in {val_dir}{more}")
    unlisted = [n for n in images if n not in seen]
    if unlisted and not allow_unlisted:
        raise ValueError(f"{len(unlisted)} images in {val_dir} are not in {labels}, e.g. "
                         f"{unlisted[0]}; pass --allow-unlisted to leave them out")

    keep: list[tuple[Path, Path]] = []
    clash: list[Path] = []
    for label in sorted(classes):
        d = out / label
        if os.path.lexists(d) and not d.is_dir():
            raise NotADirectoryError(f"{d} exists and is not a folder")
    for src, dest in todo:
        if not os.path.lexists(dest):
            keep.append((src, dest))
        elif ((mode == "symlink" and dest.is_symlink() and dest.resolve() == src.resolve())
              or (mode == "hardlink" and dest.exists() and os.path.samefile(src, dest))):
            already += 1  # made by an earlier run: left as it is
        else:
            clash.append(dest)
    if clash:
        more = f" (and {len(clash) - 1} more)" if len(clash) > 1 else ""
        raise FileExistsError(f"{clash[0]} exists{more}; arrange-val never overwrites files: "
                              f"remove them or choose another --out")
    if mode == "hardlink" and keep and _device(out) != _device(val_dir):
        raise ValueError(f"--mode hardlink needs {val_dir} and {out} on one file system; "
                         f"use --mode symlink or copy")
    return ArrangePlan(val_dir=val_dir, out_dir=out, mode=mode, label_format=fmt, todo=keep,
                       classes=sorted(classes), already=already, unlisted=unlisted)


def execute(plan: ArrangePlan, *, progress: bool = False) -> None:
    """Link, copy or move the planned images (a tqdm bar on a terminal when ``progress``)."""
    from tqdm.auto import tqdm

    made: dict[Path, Path] = {}  # class folder -> its real path
    real_val = plan.val_dir.resolve()
    with tqdm(total=len(plan.todo), unit="img", desc="arrange-val", leave=False,
              disable=None if progress else True) as bar:
        for src, dest in plan.todo:
            folder = dest.parent
            if folder not in made:
                folder.mkdir(parents=True, exist_ok=True)
                made[folder] = folder.resolve()
            if plan.mode == "symlink":
                # relative to the real folders, so the tree can move as a whole
                os.symlink(os.path.relpath(real_val / src.name, made[folder]), dest)
            elif plan.mode == "hardlink":
                os.link(src, dest)
            elif plan.mode == "copy":
                part = dest.with_name(dest.name + ".part")   # no half-copied image on a stop
                shutil.copy2(src, part)
                os.replace(part, dest)
            else:
                shutil.move(src, dest)
            bar.update(1)


def arrange_val(val_dir: str | os.PathLike[str], labels: str | os.PathLike[str], *,
                progress: bool = False, **options: Any) -> ArrangePlan:
    """:func:`plan_arrange` (``options``: its keyword arguments) then :func:`execute`;
    returns the plan (``plan.summary()``)."""
    plan = plan_arrange(val_dir, labels, **options)
    execute(plan, progress=progress)
    return plan
