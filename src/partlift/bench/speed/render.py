"""``partlift speed render``: time the 10-view 800 x 800 render of a seeded coloured cloud."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from partlift.config import render_preset
from partlift.errors import InputError
from partlift.types import Shape

DEFAULT_POINTS = 100_000
_SEED = 0
_REPEATS = 3


def synthetic_cloud(n_points: int, seed: int = _SEED) -> Shape:
    """A seeded coloured cloud on a bumpy closed surface inside the unit sphere.

    Points lie on a sphere whose radius varies with direction (0.6 to 1.0) so that views
    overlap and occlude like a real object's surface; colours are random in [0, 1].
    """
    if n_points < 1:
        raise InputError(f"speed render: expected at least 1 point, got {n_points}")
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n_points, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    bump = 0.8 + 0.2 * np.sin(3.0 * d[:, 0]) * np.cos(2.0 * d[:, 1] + d[:, 2])
    xyz = (d * bump[:, None]).astype(np.float32)
    xyz /= np.linalg.norm(xyz, axis=1).max()
    rgb = rng.uniform(0.0, 1.0, size=(n_points, 3)).astype(np.float32)
    return Shape(xyz=xyz, rgb=rgb, name=f"synthetic-{n_points}")


def speed_render(
    points: int | None, device: str, *, preset: str = "partslip", repeats: int = _REPEATS
) -> dict[str, Any]:
    """Render the ``partslip`` rig (10 views, 800 x 800) once to warm up, then time the best of 3.

    ``preset`` and ``repeats`` exist for quick tests; ``partlift speed render`` uses the defaults.

    Returns:
        ``{"stage": "render", "points", "views", "image_size", "seconds", "seconds_per_view",
        "cpu_seconds", "torch_threads", "load_average_1min", "visible_fraction"}`` (seconds: best
        of ``repeats`` full renders, numpy outputs included; cpu_seconds: process CPU of that
        render, all threads).
    """
    from partlift.render import render, resolve_device

    n = DEFAULT_POINTS if points is None else int(points)
    dev = resolve_device(device)
    if repeats < 1:
        raise InputError(f"speed render: repeats must be >= 1, got {repeats}")
    cfg = render_preset(preset)
    shape = synthetic_cloud(n)
    views = render(shape, cfg, device=dev)  # warm-up (allocator, kernels)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0, c0 = time.perf_counter(), time.process_time()
        views = render(shape, cfg, device=dev)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, best_cpu = wall, cpu
    return {
        "stage": "render",
        "points": n,
        "views": views.n_views,
        "image_size": cfg.image_size,
        "seconds": round(best, 4),
        "seconds_per_view": round(best / views.n_views, 4),
        "cpu_seconds": round(best_cpu, 4),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "visible_fraction": round(float(views.visible.mean()), 4),
    }
