"""Draw detection boxes on an image: a distinct colour per class, labelled with name and score.

    from dirnet.detection.draw import draw_boxes
    out = draw_boxes(image, boxes, labels, scores, class_names=classes)   # a new RGB image

Boxes are xyxy in the image's pixels (continuous coordinates, as
``VOCDataset`` annotations and ``dirnet detect`` give them). Plain Pillow
and numpy: no torch needed (tensors are accepted through ``numpy.asarray``).
"""
from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["PALETTE", "class_color", "draw_boxes", "side_by_side"]

#: Tableau-10 colours, then evenly spaced hues for further classes.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def class_color(index: int) -> tuple[int, int, int]:
    """The colour of class ``index`` (0-based): distinct for the first ten, then by hue."""
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index * 0.618033988749895) % 1.0  # golden-ratio steps stay apart
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


def _text_color(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``bg`` (relative luminance)."""
    lum = 0.2126 * bg[0] + 0.7152 * bg[1] + 0.0722 * bg[2]
    return (0, 0, 0) if lum > 140 else (255, 255, 255)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or without FreeType
        return ImageFont.load_default()


def draw_boxes(image: Image.Image, boxes: Any, labels: Sequence[int | str] | Any,
               scores: Any = None, *, class_names: Sequence[str] | None = None,
               width: int | None = None, font_size: int | None = None) -> Image.Image:
    """A copy of ``image`` (RGB) with ``boxes`` drawn.

    ``labels``: class indices (named through ``class_names``, coloured by
    index) or class names (coloured by their position in ``class_names``, else
    by first appearance). ``scores`` (optional) are printed after the name
    with two decimals. Line width and font size follow the image size unless
    given. Each label sits on a filled box of the class colour above the box's
    top-left corner (inside the box when there is no room above).
    """
    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labs = list(labels.reshape(-1).tolist()) if hasattr(labels, "tolist") else list(labels)
    if len(labs) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(labs)} labels")
    sc = None if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
    if sc is not None and len(sc) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(sc)} scores")
    names = list(class_names) if class_names is not None else []
    w, h = out.size
    side = min(w, h)
    lw = width if width is not None else max(1, round(side / 200))
    font = _font(font_size if font_size is not None else max(10, round(side / 40)))
    draw = ImageDraw.Draw(out)
    order = range(len(b)) if sc is None else np.argsort(sc, kind="stable")  # best drawn last
    for k in order:
        lab = labs[k]
        if isinstance(lab, str):
            if lab not in names:
                names.append(lab)
            idx, name = names.index(lab), lab
        else:
            idx = int(lab)
            name = names[idx] if 0 <= idx < len(names) else str(idx)
        color = class_color(idx)
        x0, y0, x1, y1 = (float(v) for v in b[k])
        draw.rectangle([x0, y0, max(x1, x0), max(y1, y0)], outline=color, width=lw)
        text = name if sc is None else f"{name} {sc[k]:.2f}"
        tx0, ty0, tx1, ty1 = draw.textbbox((0, 0), text, font=font)
        tw, th = tx1 - tx0, ty1 - ty0
        pad = max(1, lw)
        lx = min(max(x0, 0.0), max(w - tw - 2 * pad, 0))
        ly = y0 - th - 2 * pad if y0 - th - 2 * pad >= 0 else max(y0, 0.0)
        draw.rectangle([lx, ly, lx + tw + 2 * pad, ly + th + 2 * pad], fill=color)
        draw.text((lx + pad - tx0, ly + pad - ty0), text, fill=_text_color(color), font=font)
    return out


def side_by_side(images: Sequence[Image.Image], titles: Sequence[str] | None = None,
                 gap: int = 8, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """``images`` in one row (top-aligned), each with an optional title above it."""
    if not images:
        raise ValueError("no images")
    font = _font(max(12, round(min(im.size[1] for im in images) / 25)))
    title_h = 0
    if titles:
        probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        title_h = max(probe.textbbox((0, 0), t, font=font)[3] for t in titles) + 2 * gap
    width = sum(im.size[0] for im in images) + gap * (len(images) + 1)
    height = max(im.size[1] for im in images) + title_h + 2 * gap
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    x = gap
    for i, im in enumerate(images):
        if titles:
            draw.text((x, gap), titles[i], fill=(0, 0, 0), font=font)
        canvas.paste(im.convert("RGB"), (x, gap + title_h))
        x += im.size[0] + gap
    return canvas
