"""Colours for parts and small image helpers shared by the PNG outputs."""

from __future__ import annotations

import colorsys

import numpy as np

UNLABELLED_RGB = (170, 170, 170)
"""Colour of points with label -1 (no named part), uint8 RGB."""


def part_palette(n_parts: int) -> np.ndarray:
    """(n_parts, 3) uint8 distinct colours, deterministic (golden-ratio hue steps)."""
    if n_parts < 0:
        raise ValueError(f"part_palette: expected n_parts >= 0, got {n_parts}")
    cols = []
    for i in range(n_parts):
        h = (0.02 + i * 0.618033988749895) % 1.0
        s = 0.75 if i % 2 == 0 else 0.55
        v = 0.95 if i % 3 != 2 else 0.75
        cols.append([round(255 * c) for c in colorsys.hsv_to_rgb(h, s, v)])
    return np.asarray(cols, dtype=np.uint8).reshape(n_parts, 3)


def label_colors(labels: np.ndarray, n_parts: int) -> np.ndarray:
    """(N, 3) float32 colours in [0, 1] for (N,) int labels; -1 gets :data:`UNLABELLED_RGB`."""
    pal = np.vstack([part_palette(n_parts), np.asarray(UNLABELLED_RGB, np.uint8)[None]])
    idx = np.where(labels < 0, n_parts, labels)
    return pal[idx].astype(np.float32) / 255.0


def image_grid(images: list[np.ndarray], cols: int, pad: int = 4, bg: int = 255) -> np.ndarray:
    """Tile (H, W, 3) uint8 images (same size) into a grid with ``cols`` columns."""
    if not images:
        raise ValueError("image_grid: expected at least one image")
    h, w, _ = images[0].shape
    rows = (len(images) + cols - 1) // cols
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), bg, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y : y + h, x : x + w] = im
    return out
