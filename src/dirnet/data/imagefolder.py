"""ImageNet-style folders, decoded lazily per batch with Pillow.

Only file paths live in memory; each batch is opened, cropped and resized as
it is requested. Train images get random-resized-crop (+ mirror) while they are
decoded (one Pillow resize with a crop box, so no full-size intermediate);
eval images get "resize the shorter side to image_size * 256 / 224, center
crop image_size", the ImageNet convention. JPEGs are decoded at reduced scale
(Pillow ``draft``) when the crop is large enough, which is exact in geometry
and several times cheaper.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .augment import check_augment

__all__ = [
    "FOLDER_AUGMENTS",
    "IMAGEFOLDER_LAYOUT",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_EXTENSIONS",
    "ImageFolderDataset",
    "read_imagefolder",
    "scan_split",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: None: eval transform; "flip": eval transform + mirror; "rrc_flip": random-resized-crop + mirror
FOLDER_AUGMENTS: tuple[str | None, ...] = (None, "flip", "rrc_flip")

IMAGEFOLDER_LAYOUT = """expected an ImageNet-style folder tree (class names are sorted):
  ROOT/
    train/
      <class_a>/ *.jpg | *.jpeg | *.png ...
      <class_b>/ ...
    val/                (optional; becomes the test set)
      <class_a>/ ...
      <class_b>/ ..."""

_RRC_SCALE = (0.08, 1.0)
_RRC_RATIO = (3 / 4, 4 / 3)
_RRC_TRIES = 10
_DRAWS = 4 * _RRC_TRIES + 1  # per image: scale, log-ratio, top, left per try + flip


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def scan_split(
    split_dir: Path, class_names: Sequence[str] | None = None
) -> tuple[list[tuple[str, int]], list[str]]:
    """(path, label) pairs of one split; ``class_names`` fixes the label order."""
    if not split_dir.is_dir():
        raise FileNotFoundError(f"{split_dir} is not a folder; {IMAGEFOLDER_LAYOUT}")
    dirs = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if not dirs:
        raise FileNotFoundError(f"{split_dir} has no class folders; {IMAGEFOLDER_LAYOUT}")
    if class_names is None:
        class_names = dirs
    else:
        unknown = sorted(set(dirs) - set(class_names))
        if unknown:
            raise ValueError(f"{split_dir} has classes not in train/: {unknown}; {IMAGEFOLDER_LAYOUT}")
    index = {c: i for i, c in enumerate(class_names)}
    samples: list[tuple[str, int]] = []
    for name in dirs:
        files = _images_in(split_dir / name)
        if not files:
            raise FileNotFoundError(
                f"{split_dir / name} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                f"{IMAGEFOLDER_LAYOUT}")
        samples.extend((str(f), index[name]) for f in files)
    return samples, list(class_names)


def _rrc_box(w: int, h: int, u: np.ndarray) -> tuple[float, float, float, float]:
    """Random-resized-crop box from the pre-drawn uniforms ``u`` (length 4 * tries)."""
    area = w * h
    lo, hi = math.log(_RRC_RATIO[0]), math.log(_RRC_RATIO[1])
    for t in range(_RRC_TRIES):
        s, r, uy, ux = u[4 * t: 4 * t + 4]
        target = area * (_RRC_SCALE[0] + (_RRC_SCALE[1] - _RRC_SCALE[0]) * s)
        ratio = math.exp(lo + (hi - lo) * r)
        cw = round(math.sqrt(target * ratio))
        ch = round(math.sqrt(target / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            top = min(int(uy * (h - ch + 1)), h - ch)
            left = min(int(ux * (w - cw + 1)), w - cw)
            return left, top, left + cw, top + ch
    # fallback: the largest central crop whose aspect lies in the allowed range
    aspect = w / h
    if aspect < _RRC_RATIO[0]:
        cw, ch = w, round(w / _RRC_RATIO[0])
    elif aspect > _RRC_RATIO[1]:
        cw, ch = round(h * _RRC_RATIO[1]), h
    else:
        cw, ch = w, h
    left, top = (w - cw) // 2, (h - ch) // 2
    return left, top, left + cw, top + ch


def _eval_box(w: int, h: int, size: int) -> tuple[float, float, float, float]:
    """Center crop of ``size`` after resizing the shorter side to size*256/224."""
    short = round(size * 256 / 224)
    r = short / min(w, h)
    rw, rh = w * r, h * r
    left, top = (rw - size) / 2, (rh - size) / 2
    return left / r, top / r, (left + size) / r, (top + size) / r


class ImageFolderDataset:
    """Paths + labels of one split; images are decoded per batch by :meth:`load_batch`."""

    supported_augments = FOLDER_AUGMENTS
    in_channels = 3

    def __init__(self, samples: Sequence[tuple[str, int]], class_names: Sequence[str],
                 image_size: int = 224) -> None:
        if not isinstance(image_size, int) or image_size < 1:
            raise ValueError(f"image_size must be a positive int, got {image_size!r}")
        self.samples = [(str(p), int(y)) for p, y in samples]
        self.class_names = list(class_names)
        self.image_size = image_size
        self.labels = torch.tensor([y for _, y in self.samples], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return (f"ImageFolderDataset(n={len(self)}, image_size={self.image_size}, "
                f"classes={self.num_classes})")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return 3, self.image_size, self.image_size

    def subset(self, indices: torch.Tensor | Sequence[int]) -> ImageFolderDataset:
        idx = torch.as_tensor(indices, dtype=torch.int64).tolist()
        return ImageFolderDataset([self.samples[i] for i in idx], self.class_names,
                                  self.image_size)

    def _decode(self, path: str, u: np.ndarray | None, random_crop: bool) -> np.ndarray:
        s = self.image_size
        try:
            with Image.open(path) as img:
                w, h = img.size
                box = _rrc_box(w, h, u) if random_crop else _eval_box(w, h, s)
                bw, bh = box[2] - box[0], box[3] - box[1]
                # decode at the smallest JPEG scale that still gives the box >= s pixels
                img.draft("RGB", (math.ceil(w * s / bw), math.ceil(h * s / bh)))
                fx, fy = img.size[0] / w, img.size[1] / h
                box = (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)
                out = img.convert("RGB").resize((s, s), Image.BILINEAR, box=box)
                return np.asarray(out, dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"cannot decode image {path}: {e}") from e

    def load_batch(self, indices: torch.Tensor, augment: str | None,
                   generator: torch.Generator) -> torch.Tensor:
        """uint8 (B, 3, S, S); draws a fixed 41 uniforms per image, in index order."""
        augment = check_augment(augment, FOLDER_AUGMENTS, "image-folder data sets")
        idx = torch.as_tensor(indices, dtype=torch.int64).tolist()
        s = self.image_size
        batch = np.empty((len(idx), s, s, 3), dtype=np.uint8)
        draws = None
        if augment is not None:
            draws = torch.rand((len(idx), _DRAWS), generator=generator, dtype=torch.float64).numpy()
        for j, i in enumerate(idx):
            u = draws[j] if draws is not None else None
            img = self._decode(self.samples[i][0], u, augment == "rrc_flip")
            if u is not None and u[-1] < 0.5:
                img = img[:, ::-1]
            batch[j] = img
        return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def read_imagefolder(
    root: str | os.PathLike[str], image_size: int = 224
) -> tuple[ImageFolderDataset, ImageFolderDataset | None]:
    """(train, test) from ROOT/train and ROOT/val (test is None without val/)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder root {root} does not exist; {IMAGEFOLDER_LAYOUT}")
    train_samples, names = scan_split(root / "train")
    train = ImageFolderDataset(train_samples, names, image_size)
    test = None
    if (root / "val").exists():
        test = ImageFolderDataset(scan_split(root / "val", names)[0], names, image_size)
    return train, test
