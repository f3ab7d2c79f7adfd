"""``views.png``: the rendered views with the teacher's 2D predictions beside the 3D result.

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
from partlift.palette import image_grid, label_colors
from partlift.types import PartLabels, Predictions, Views


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
    views: Views, predictions: Predictions, semantic: np.ndarray, n_parts: int, *, tile: int = 256, cols: int = 5
) -> np.ndarray:
    """(H, W, 3) uint8 sheet: for each row of ``cols`` views, the predictions above the result."""
    from partlift.viz_predictions import draw_predictions

    drawn = [draw_predictions(views.rgb[v], predictions, v) for v in range(views.n_views)]
    result = result_images(views, semantic, n_parts)

    def small(im: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(im).resize((tile, tile), Image.Resampling.LANCZOS))

    tiles: list[np.ndarray] = []
    for start in range(0, views.n_views, cols):
        idx = list(range(start, min(start + cols, views.n_views)))
        blank = np.full((tile, tile, 3), 255, np.uint8)
        row_pred = [small(drawn[v]) for v in idx] + [blank] * (cols - len(idx))
        row_res = [small(result[v]) for v in idx] + [blank] * (cols - len(idx))
        tiles += row_pred + row_res
    return image_grid(tiles, cols=cols)


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
    sheet = views_sheet(prepared.views, predictions, _on_rendered_points(prepared, labels), len(labels.part_names))
    path = Path(path)
    with atomic.replacing(path, suffix=".png") as tmp:
        Image.fromarray(sheet).save(tmp)
    return path
