"""``partlift speed normals``: estimate normals on a seeded noisy sphere (CPU only)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["DEFAULT_POINTS", "speed_normals"]

DEFAULT_POINTS = 100_000


def speed_normals(points: int | None, device: str) -> dict[str, Any]:
    """Time :func:`partlift.geometry.estimate_normals` (METHODS §1.4) on a noisy unit sphere.

    Returns:
        ``{"stage": "normals", "points", "seconds"}``.
    """
    from partlift.geometry import estimate_normals

    del device  # kd-tree + numpy: CPU only
    n = DEFAULT_POINTS if points is None else int(points)
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    xyz += 0.002 * rng.normal(size=(n, 3))
    t0 = time.perf_counter()
    estimate_normals(xyz.astype(np.float32))
    return {"stage": "normals", "points": n, "seconds": round(time.perf_counter() - t0, 4)}
