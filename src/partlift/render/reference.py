"""Slow, obviously correct z-buffer (numpy loops) that the fast rasteriser is tested against.

For every view and every point in index order: the pixels whose centres lie strictly within the
splat radius of the point's screen position are computed by brute force over the whole image
(float32 ``dx*dx + dy*dy < r*r``, ``dx = col - x``, ``dy = row - y``), and the point takes those
where it is nearer than the current owner (equal depth: the earlier, lower index, keeps the
pixel). Points with ``depth <= max(znear, 0)`` are skipped. METHODS §1.2.

Use on small clouds and images only (O(V N H W)).
"""

from __future__ import annotations

import numpy as np

from partlift.config import RenderConfig
from partlift.render.camera import camera_rig, project, resolve_config
from partlift.types import Shape

__all__ = ["rasterize_reference", "render_reference"]


def rasterize_reference(
    screen_xy: np.ndarray,
    depth: np.ndarray,
    image_size: int,
    radius_px: float,
    znear: float,
) -> np.ndarray:
    """Reference pixel -> point map.

    Args:
        screen_xy: (V, N, 2) float32 screen positions (x = column, y = row).
        depth: (V, N) float32 camera-space depths.
        image_size: ``H = W`` in pixels.
        radius_px: splat radius in pixels.
        znear: points with ``depth <= max(znear, 0)`` are not drawn.

    Returns:
        (V, H, W) int64, -1 = background.
    """
    screen_xy = np.asarray(screen_xy, dtype=np.float32)
    depth = np.asarray(depth, dtype=np.float32)
    n_views, n = depth.shape
    h = w = int(image_size)
    r = np.float32(radius_px)
    r2 = r * r
    z_min = max(float(znear), 0.0)
    cols = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)
    out = np.full((n_views, h, w), -1, dtype=np.int64)
    for v in range(n_views):
        zbuf = np.full((h, w), np.inf, dtype=np.float32)
        for p in range(n):
            z = depth[v, p]
            if not float(z) > z_min:
                continue
            x, y = screen_xy[v, p]
            dx = cols - x  # (W,) float32
            dy = rows - y  # (H,) float32
            d2 = (dx * dx)[None, :] + (dy * dy)[:, None]  # float32, dx^2 + dy^2
            covered = d2 < r2
            # Strictly nearer wins; on equal depth the owner has a lower index, so it stays.
            take = covered & (z < zbuf)
            zbuf[take] = z
            out[v][take] = p
    return out


def render_reference(shape: Shape, config: RenderConfig | str = "tiny") -> tuple[np.ndarray, np.ndarray]:
    """Reference ``(pix2point (V, H, W) int64, visible (V, N) bool)`` of a unit-sphere shape.

    Projection is :func:`partlift.render.camera.project` (shared with the fast path); only the
    rasterisation and the visibility rule are re-implemented here.
    """
    cfg = resolve_config(config)
    cams = camera_rig(cfg)
    projected = [project(shape.xyz, cam, cfg.image_size) for cam in cams]
    screen_xy = np.stack([p[0] for p in projected])
    depth = np.stack([p[1] for p in projected])
    pix2point = rasterize_reference(screen_xy, depth, cfg.image_size, cfg.radius_px, cfg.znear)
    visible = np.zeros((len(cams), shape.n_points), dtype=bool)
    for v in range(len(cams)):
        owners = np.unique(pix2point[v])
        visible[v, owners[owners >= 0]] = True
    return pix2point, visible
