"""Preview sheets of generated shapes: points coloured by part, one shaded view per shape.

A small self-contained splatting renderer (numpy z-buffer, Lambert shading from the normals so
that the 3D form reads well) — a picture for people, not the pipeline's renderer
(:mod:`partlift.render`), whose output must keep exact pixel-to-point maps and raw colours.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from partlift.errors import InputError
from partlift.io import atomic_write
from partlift.palette import UNLABELLED_RGB, image_grid, part_palette
from partlift.types import Shape

__all__ = ["render_points", "preview_sheet", "save_preview"]


def render_points(
    xyz: np.ndarray,
    colors: np.ndarray,
    normals: np.ndarray | None = None,
    *,
    size: int = 256,
    elevation: float = 25.0,
    azimuth: float = 35.0,
    radius_px: float = 1.5,
    background: int = 255,
) -> np.ndarray:
    """Render an (N, 3) cloud with (N, 3) float [0, 1] colours to a (size, size, 3) uint8 image.

    The cloud is centred on its bounding box and scaled to fit; the camera looks at the centre
    from ``elevation``/``azimuth`` degrees (azimuth 0 = from +Z, +Y up). With ``normals`` the
    colours are Lambert-shaded (two-sided) by a light near the camera.
    """
    xyz = np.asarray(xyz, np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or len(xyz) == 0:
        raise InputError(f"render_points: expected (N, 3) points with N >= 1, got {xyz.shape}")
    lo, hi = xyz.min(0), xyz.max(0)
    p = (xyz - (lo + hi) / 2) / max(float(np.linalg.norm(hi - lo)) / 2, 1e-9)
    e, a = np.deg2rad(elevation), np.deg2rad(azimuth)
    eye_dir = np.array([np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)])
    dist = 3.2
    fwd = -eye_dir
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    rel = p - eye_dir * dist
    depth = rel @ fwd
    f = 1.0 / np.tan(np.deg2rad(40.0) / 2)
    sx = (rel @ right) / depth * f
    sy = (rel @ up) / depth * f
    col = np.asarray(colors, np.float64)
    if normals is not None:
        n = np.asarray(normals, np.float64)
        light = eye_dir + 0.6 * up - 0.4 * right
        light /= np.linalg.norm(light)
        lam = np.abs(n @ light)
        col = col * (0.45 + 0.55 * lam)[:, None]
    cx = (sx + 1) * size / 2 - 0.5
    cy = (1 - sy) * size / 2 - 0.5
    r = int(np.ceil(radius_px))
    offs = [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if dx * dx + dy * dy <= radius_px**2 + 0.5]
    px = np.concatenate([np.round(cx).astype(np.int64) + dx for dx, _ in offs])
    py = np.concatenate([np.round(cy).astype(np.int64) + dy for _, dy in offs])
    pid = np.tile(np.arange(len(p)), len(offs))
    ok = (px >= 0) & (px < size) & (py >= 0) & (py < size)
    pix = py[ok] * size + px[ok]
    pid = pid[ok]
    order = np.lexsort((depth[pid], pix))
    pix, pid = pix[order], pid[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    img = np.full((size * size, 3), background, np.uint8)
    img[pix[first]] = np.clip(np.round(col[pid[first]] * 255), 0, 255).astype(np.uint8)
    return img.reshape(size, size, 3)


def _part_colors(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    n_parts = len(shape.part_names or ())
    pal = part_palette(n_parts).astype(np.float64) / 255.0
    grey = np.asarray(UNLABELLED_RGB, np.float64) / 255.0
    sem = shape.semantic if shape.semantic is not None else np.full(shape.n_points, -1)
    cols = np.where(sem[:, None] >= 0, pal[np.maximum(sem, 0)] if n_parts else grey, grey)
    return cols, pal


def _tile(shape: Shape, size: int, by_part: bool) -> np.ndarray:
    if by_part:
        cols, pal = _part_colors(shape)
    else:
        cols = shape.rgb if shape.rgb is not None else np.full((shape.n_points, 3), 0.6)
        pal = part_palette(len(shape.part_names or ())).astype(np.float64) / 255.0
    img = render_points(shape.xyz, cols, shape.normals, size=size, radius_px=max(1.0, size / 120))
    im = Image.fromarray(img)
    draw = ImageDraw.Draw(im)
    draw.text((4, 2), shape.name, fill=(0, 0, 0))
    present = set(np.unique(shape.semantic).tolist()) if shape.semantic is not None else set()
    y = 14
    for k, name in enumerate(shape.part_names or ()):
        if k not in present:
            continue
        c = tuple(int(v) for v in np.round(pal[k] * 255))
        draw.rectangle([4, y + 2, 12, y + 10], fill=c)
        draw.text((16, y), name, fill=(0, 0, 0))
        y += 12
    return np.asarray(im)


def preview_sheet(
    shapes: Sequence[Shape], *, size: int = 256, cols: int | None = None, by_part: bool = True
) -> np.ndarray:
    """(H, W, 3) uint8 grid of one view per shape, coloured by part (-1 grey) or by ``rgb``.

    Each tile is captioned with the shape's name and the parts present, with their colours
    (:func:`partlift.palette.part_palette` of the category's part list).
    """
    if not shapes:
        raise InputError("preview_sheet: expected at least one shape")
    cols = cols or int(np.ceil(np.sqrt(len(shapes))))
    return image_grid([_tile(s, size, by_part) for s in shapes], cols=cols)


def save_preview(path: str | os.PathLike, shapes: Sequence[Shape], **kwargs) -> Path:
    """Write :func:`preview_sheet` (``kwargs`` passed on) as a PNG, atomically; the path."""
    path = Path(path)
    sheet = preview_sheet(shapes, **kwargs)
    with atomic_write(path, "wb") as fh:
        Image.fromarray(sheet).save(fh, format="PNG")
    return path
