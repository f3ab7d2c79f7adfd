"""``partlift speed normals``: estimate normals on a seeded noisy sphere (CPU only)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from partlift.errors import InputError

__all__ = ["DEFAULT_POINTS", "speed_normals"]

DEFAULT_POINTS = 100_000
_REPEATS = 3


def speed_normals(points: int | None, device: str, *, repeats: int = _REPEATS) -> dict[str, Any]:
    """Time :func:`partlift.geometry.estimate_normals` (METHODS §1.4) on a noisy unit sphere.

    As the pipeline calls it (``prepare_shape`` and the superpoints' own estimate): the 30-NN
    kd-tree query on all cores (``workers=-1``), after one untimed warm-up call on the same
    cloud (first-call allocations and page faults), best of ``repeats`` calls. Before issue 17's
    third round this rig timed one cold single-threaded call, which is why it read about twice
    the superpoints' own ``normals`` step.

    Returns:
        ``{"stage": "normals", "points", "seconds" (best wall), "cpu_seconds" (process CPU of
        that call, all threads), "seconds_cold" (the warm-up call), "workers", "repeats",
        "load_average_1min"}``.
    """
    from partlift.geometry import estimate_normals

    del device  # kd-tree + numpy: CPU only
    n = DEFAULT_POINTS if points is None else int(points)
    if n < 1 or repeats < 1:
        raise InputError(f"speed normals: expected points >= 1 and repeats >= 1, got {n} and {repeats}")
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    xyz += 0.002 * rng.normal(size=(n, 3))
    xyz = xyz.astype(np.float32)
    t0 = time.perf_counter()
    estimate_normals(xyz, workers=-1)
    cold = time.perf_counter() - t0
    best, best_cpu = np.inf, np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        estimate_normals(xyz, workers=-1)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, best_cpu = wall, cpu
    return {"stage": "normals", "points": n, "seconds": round(best, 4), "cpu_seconds": round(best_cpu, 4),
            "seconds_cold": round(cold, 4), "workers": -1, "repeats": repeats,
            "load_average_1min": round(os.getloadavg()[0], 2)}
