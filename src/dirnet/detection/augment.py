"""Box-aware SSD augmentation, done as one crop-and-resize per image.

SSD's training pipeline (Liu et al., 2016) is: photometric distortion, zoom
out (place the image on a canvas up to 4x its size filled with the mean
colour), an IoU-constrained random crop, a horizontal flip, and a resize to
the square input. Materialising a 4x canvas of a 640x480 image costs more
than the network's step, so here the geometry is drawn on numbers only: zoom
out and crop give one window in the image's own pixel coordinates (it may
reach beyond the image, where the output is the fill colour), and
:func:`render` fills the output square from the image part of that window
with a single Pillow resize (JPEGs decoded at a reduced DCT scale when the
window allows it). Photometric distortion then acts on the pasted pixels only,
so the fill stays exactly the mean, as in SSD.

Randomness comes only from the ``torch.Generator`` passed in, drawn in a fixed
order, so a sample is a pure function of (image, boxes, generator seed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

__all__ = ["SSD_MIN_IOUS", "AugmentConfig", "photometric", "render", "sample_window",
           "transform", "window_boxes"]

#: Crop modes (SSD paper, section 2.2): None = the whole image; 0.1 ... 0.9 = a patch with
#: IoU >= that value with at least one box (Caffe SSD's rule); 0.0 = any patch.
SSD_MIN_IOUS: tuple[float | None, ...] = (None, 0.1, 0.3, 0.5, 0.7, 0.9, 0.0)

#: RGB -> YIQ; hue and saturation act on the (I, Q) chroma plane.
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                dtype=np.float64)
_YIQ_INV = np.linalg.inv(_YIQ)


@dataclass(frozen=True)
class AugmentConfig:
    """What training augmentation does; the defaults are SSD's."""

    flip: bool = True
    expand: bool = True
    expand_prob: float = 0.5
    max_expand: float = 4.0
    crop: bool = True
    min_ious: tuple[float | None, ...] = SSD_MIN_IOUS
    crop_trials: int = 50
    min_crop_scale: float = 0.3
    photometric: bool = True


def _rand(g: torch.Generator, n: int = 1) -> np.ndarray:
    return torch.rand(n, generator=g, dtype=torch.float64).numpy()


def box_iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of xyxy boxes (continuous coordinates, no +1)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def sample_window(width: int, height: int, boxes: np.ndarray, g: torch.Generator,
                  config: AugmentConfig = AugmentConfig()) -> tuple[np.ndarray, bool]:
    """Draw the training window (x0, y0, x1, y1) in image pixels and the flip bit.

    Draw order: zoom-out coin, ratio, offsets; crop mode; ``crop_trials``
    candidate patches at once (widths, heights, lefts, tops); flip coin. The
    first candidate whose aspect lies in [1/2, 2], that contains at least one
    box centre and meets the mode's IoU wins; if none does, the whole canvas.
    """
    canvas = np.array([0.0, 0.0, width, height])
    coin, ratio, ox, oy = _rand(g, 4)
    if config.expand and coin < config.expand_prob:
        r = 1.0 + ratio * (config.max_expand - 1.0)
        left, top = ox * (r - 1.0) * width, oy * (r - 1.0) * height
        canvas = np.array([-left, -top, -left + r * width, -top + r * height])
    window = canvas
    mode = config.min_ious[int(_rand(g)[0] * len(config.min_ious)) % len(config.min_ious)]
    if config.crop and mode is not None:
        cw, ch = canvas[2] - canvas[0], canvas[3] - canvas[1]
        t = config.crop_trials
        s = config.min_crop_scale
        w = (s + (1 - s) * _rand(g, t)) * cw
        h = (s + (1 - s) * _rand(g, t)) * ch
        x0 = canvas[0] + _rand(g, t) * (cw - w)
        y0 = canvas[1] + _rand(g, t) * (ch - h)
        patches = np.stack([x0, y0, x0 + w, y0 + h], 1)
        ok = (h / w >= 0.5) & (h / w <= 2.0)
        if len(boxes):
            c = (boxes[:, :2] + boxes[:, 2:]) / 2
            inside = ((c[None, :, 0] > patches[:, None, 0]) & (c[None, :, 0] < patches[:, None, 2])
                      & (c[None, :, 1] > patches[:, None, 1]) & (c[None, :, 1] < patches[:, None, 3]))
            ok &= inside.any(1)
            if mode > 0:
                ok &= box_iou_np(patches, boxes.astype(np.float64)).max(1) >= mode
        if ok.any():
            window = patches[int(np.argmax(ok))]
    flip = bool(config.flip and _rand(g)[0] < 0.5)
    return window, flip


def window_boxes(boxes: np.ndarray, window: np.ndarray, flip: bool,
                 crop: bool) -> tuple[np.ndarray, np.ndarray]:
    """Boxes relative to ``window`` (xyxy in [0, 1]) and the indices of those kept.

    With ``crop`` only boxes whose centre lies strictly inside the window are
    kept, clipped to it (SSD's rule); otherwise all are kept unclipped.
    """
    idx = np.arange(len(boxes))
    if crop and len(boxes):
        c = (boxes[:, :2] + boxes[:, 2:]) / 2
        m = (c[:, 0] > window[0]) & (c[:, 0] < window[2]) & (c[:, 1] > window[1]) & (c[:, 1] < window[3])
        idx = idx[m]
    b = boxes[idx].astype(np.float64)
    size = np.array([window[2] - window[0], window[3] - window[1]] * 2)
    rel = (b - np.array([window[0], window[1]] * 2)) / size
    if crop:
        rel = np.clip(rel, 0.0, 1.0)
    if flip:
        rel = np.stack([1.0 - rel[:, 2], rel[:, 1], 1.0 - rel[:, 0], rel[:, 3]], 1)
    return rel.astype(np.float32).reshape(-1, 4), idx.astype(np.int64)


def photometric(pixels: np.ndarray, g: torch.Generator) -> np.ndarray:
    """SSD-style colour jitter of uint8 (h, w, 3) pixels, each part with probability 1/2.

    Brightness (+- 32), contrast (x0.5 - 1.5 about the mean), saturation (x0.5 - 1.5)
    and hue (chroma rotation in YIQ by +- 18 degrees: a cheap stand-in for HSV hue).
    Always draws 8 numbers (4 coins, 4 values), so the stream does not depend on the coins.
    """
    coins, vals = _rand(g, 4) < 0.5, _rand(g, 4)
    x = pixels.astype(np.float32)
    if coins[0]:
        x += np.float32((vals[0] * 2 - 1) * 32)
    if coins[1]:
        m = np.float32(x.mean())
        x = (x - m) * np.float32(0.5 + vals[1]) + m
    sat = 0.5 + vals[2] if coins[2] else 1.0
    hue = math.radians((vals[3] * 2 - 1) * 18) if coins[3] else 0.0
    if coins[2] or coins[3]:
        c, s = math.cos(hue) * sat, math.sin(hue) * sat
        chroma = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
        x = x @ (_YIQ_INV @ chroma @ _YIQ).T.astype(np.float32)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def render(image: Image.Image, window: np.ndarray, size: int, fill: tuple[int, int, int],
           g: torch.Generator | None = None, flip: bool = False) -> np.ndarray:
    """The ``size`` x ``size`` uint8 RGB view of ``window`` (image pixels), outside = ``fill``.

    One bilinear (antialiased) Pillow resize of the part of the window inside
    the image; for JPEGs the decoder first drops to the smallest DCT scale that
    still gives at least the output's resolution. With ``g`` the pasted pixels
    get :func:`photometric`; ``flip`` mirrors the result.
    """
    width, height = image.size
    out = np.empty((size, size, 3), dtype=np.uint8)
    out[:] = fill
    wx0, wy0, wx1, wy1 = (float(v) for v in window)
    sx, sy = size / (wx1 - wx0), size / (wy1 - wy0)
    dx0 = min(max(round((max(wx0, 0.0) - wx0) * sx), 0), size)
    dx1 = min(max(round((min(wx1, width) - wx0) * sx), 0), size)
    dy0 = min(max(round((max(wy0, 0.0) - wy0) * sy), 0), size)
    dy1 = min(max(round((min(wy1, height) - wy0) * sy), 0), size)
    if dx1 > dx0 and dy1 > dy0:
        box = [min(max(wx0 + dx0 / sx, 0.0), width), min(max(wy0 + dy0 / sy, 0.0), height),
               min(max(wx0 + dx1 / sx, 0.0), width), min(max(wy0 + dy1 / sy, 0.0), height)]
        if image.format == "JPEG":
            need = (math.ceil(width * (dx1 - dx0) / max(box[2] - box[0], 1e-6)),
                    math.ceil(height * (dy1 - dy0) / max(box[3] - box[1], 1e-6)))
            image.draft("RGB", need)
        fx, fy = image.size[0] / width, image.size[1] / height
        box = [box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy]
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        patch = np.asarray(rgb.resize((dx1 - dx0, dy1 - dy0), Image.BILINEAR, box=box))
        out[dy0:dy1, dx0:dx1] = photometric(patch, g) if g is not None else patch
    return np.ascontiguousarray(out[:, ::-1]) if flip else out


def transform(image: Image.Image, boxes: np.ndarray, size: int, fill: tuple[int, int, int],
              g: torch.Generator | None, config: AugmentConfig = AugmentConfig()
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sample: ``(uint8 (size, size, 3), boxes float32 (M, 4) relative xyxy, kept idx)``.

    ``g=None`` is evaluation: the whole image resized, every box kept unclipped.
    ``boxes`` are float (N, 4) xyxy in ``image``'s pixels (before any draft).
    """
    width, height = image.size
    if g is None:
        window = np.array([0.0, 0.0, width, height])
        return render(image, window, size, fill), *window_boxes(boxes, window, False, False)
    window, flip = sample_window(width, height, boxes, g, config)
    rel, idx = window_boxes(boxes, window, flip, crop=True)
    pixels = render(image, window, size, fill, g if config.photometric else None, flip)
    return pixels, rel, idx
