"""``views.png``: the rendered views with the teacher's 2D predictions beside the 3D result.

Layout: a title line (shape, teacher, method); then, per group of ``cols`` views, a row titled
"teacher's 2D predictions" (boxes, mask outlines over a light tint, tags ``part score``) above a
row titled "3D result" (the same views coloured by the predicted part of each point); at the
bottom a legend of the part colours, with grey = unlabelled (no part reached the point).

The 3D result is drawn in the very same views without re-rendering: every pixel takes the part
colour of the point that owns it (``Views.pix2point``), shaded by the rendered image's brightness
so the geometry stays readable.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from partlift import atomic
from partlift.errors import InputError
from partlift.palette import UNLABELLED_RGB, image_grid, label_colors, part_palette
from partlift.part_labels import PartLabels
from partlift.types import Predictions, Views


def result_images(views: Views, semantic: np.ndarray, n_parts: int) -> np.ndarray:
    """(V, H, W, 3) uint8 images of the views coloured by per-point labels ``semantic`` (N,)."""
    if semantic.shape != (views.n_points,):
        raise InputError(
            f"result_images: expected {views.n_points} labels (one per rendered point), got {semantic.shape}"
        )
    colours = label_colors(semantic, n_parts)  # (N, 3) in [0, 1]
    shade = views.rgb.astype(np.float32).mean(axis=-1, keepdims=True) / 255.0
    owner = views.pix2point
    out = np.full(views.rgb.shape, 255, np.uint8)
    hit = owner >= 0
    lit = colours[owner[hit]] * (0.55 + 0.45 * shade[hit])
    out[hit] = np.clip(255 * lit + 0.5, 0, 255).astype(np.uint8)
    return out


def views_sheet(
    views: Views, predictions: Predictions, semantic: np.ndarray, n_parts: int, *, tile: int = 256, cols: int = 5,
    title: str = "",
) -> np.ndarray:
    """(H, W, 3) uint8 sheet: a title, then per ``cols`` views the teacher's 2D predictions
    (row titled "teacher's 2D predictions") above the 3D result ("3D result"), then a legend of
    ``predictions.part_names`` colours and grey = unlabelled."""
    from partlift.viz_predictions import draw_predictions

    drawn = [draw_predictions(views.rgb[v], predictions, v) for v in range(views.n_views)]
    result = result_images(views, semantic, n_parts)

    def small(im: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(im).resize((tile, tile), Image.Resampling.LANCZOS))

    blocks: list[np.ndarray] = []
    width = cols * tile + (cols + 1) * 4
    if title:
        blocks.append(_text_strip(title, width, tile // 7, bold=True))
    for start in range(0, views.n_views, cols):
        idx = list(range(start, min(start + cols, views.n_views)))
        blank = np.full((tile, tile, 3), 255, np.uint8)
        last = start + cols >= views.n_views
        for label, images in (("teacher's 2D predictions", drawn), ("3D result", result)):
            strip = f"{label}: views {idx[0]}-{idx[-1]}" if views.n_views > cols else label
            blocks.append(_text_strip(strip, width, tile // 9))
            blocks.append(image_grid([small(images[v]) for v in idx] + [blank] * (cols - len(idx)), cols=cols))
        if not last:
            blocks.append(np.full((tile // 12, width, 3), 255, np.uint8))
    blocks.append(_legend(tuple(predictions.part_names), n_parts, width, tile // 9))
    return np.concatenate([_pad_to(b, width) for b in blocks], axis=0)


def _pad_to(block: np.ndarray, width: int) -> np.ndarray:
    if block.shape[1] >= width:
        return block[:, :width]
    pad = np.full((block.shape[0], width - block.shape[1], 3), 255, np.uint8)
    return np.concatenate([block, pad], axis=1)


def _text_strip(text: str, width: int, height: int, *, bold: bool = False) -> np.ndarray:
    """A white (height, width, 3) strip with ``text`` at the left, font ~70% of the height."""
    from PIL import ImageDraw

    from partlift.viz_predictions import scaled_font

    height = max(height, 16)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = scaled_font(height, fraction=0.72 if bold else 0.62, minimum=11)
    draw.text((8, height // 2), text, fill=(0, 0, 0), font=font, anchor="lm",
              stroke_width=1 if bold else 0, stroke_fill=(0, 0, 0))
    return np.asarray(img)


def _legend(names: tuple[str, ...], n_parts: int, width: int, height: int) -> np.ndarray:
    """A strip of colour swatches with the part names, and grey = unlabelled, wrapped to ``width``."""
    from PIL import ImageDraw

    from partlift.viz_predictions import scaled_font

    height = max(height, 16)
    font = scaled_font(height, fraction=0.62, minimum=11)
    pal = part_palette(max(n_parts, len(names)))
    entries = [(n, tuple(int(c) for c in pal[i])) for i, n in enumerate(names)]
    entries.append(("unlabelled (no part reached the point)", tuple(UNLABELLED_RGB)))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    rows, row, x = [], [], 8
    for name, col in entries:
        w = height + 6 + int(probe.textlength(name, font=font)) + 18
        if row and x + w > width:
            rows.append(row)
            row, x = [], 8
        row.append((x, name, col))
        x += w
    rows.append(row)
    img = Image.new("RGB", (width, height * len(rows) + 8), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for r, items in enumerate(rows):
        y = 4 + r * height
        for x0, name, col in items:
            s = int(height * 0.7)
            draw.rectangle([x0, y + (height - s) // 2, x0 + s, y + (height + s) // 2], fill=col, outline=(60, 60, 60))
            draw.text((x0 + s + 6, y + height // 2), name, fill=(0, 0, 0), font=font, anchor="lm")
    return np.asarray(img)


def _on_rendered_points(prepared, labels: PartLabels) -> np.ndarray:
    """``labels.semantic`` on the rendered points: the same array, or — for a huge input whose
    heavy stages ran on a subset (:mod:`partlift.subsample`) — each rendered point's own label,
    found as its nearest input point."""
    n = prepared.views.n_points
    if labels.n_points == n or labels.xyz is None:
        return labels.semantic
    from scipy.spatial import cKDTree

    _, idx = cKDTree(np.asarray(labels.xyz, np.float64)).query(
        np.asarray(prepared.source.xyz, np.float64), k=1, workers=-1)
    return labels.semantic[idx]


def write_views_sheet(path: str | os.PathLike, prepared, predictions: Predictions, labels: PartLabels) -> Path:
    """Write ``views.png`` for a :class:`~partlift.pipeline.PreparedShape` and its result.

    ``labels`` must be on the prepared shape's points (the Segmenter keeps the input's points, so
    its labels are).
    """
    meta = labels.meta or {}
    title = " · ".join(str(x) for x in (getattr(prepared.source, "name", None),
                                         f"teacher {meta['teacher']}" if meta.get("teacher") else None,
                                         f"method {meta['method']}" if meta.get("method") else None) if x)
    sheet = views_sheet(prepared.views, predictions, _on_rendered_points(prepared, labels), len(labels.part_names),
                        title=title)
    path = Path(path)
    with atomic.replacing(path, suffix=".png") as tmp:
        Image.fromarray(sheet).save(tmp)
    return path
