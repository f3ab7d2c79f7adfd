"""Speed stage ``synth`` (``partlift speed synth``): generate 100 shapes across the categories."""

from __future__ import annotations

import time
from typing import Any

from partlift.data.synthetic.generator import DEFAULT_POINTS, generate, list_categories, shape_seed

SPEED_SHAPES = 100


def speed_synth(points: int | None, device: str) -> dict[str, Any]:  # noqa: ARG001 - CPU only
    """Time generating :data:`SPEED_SHAPES` shapes (mesh + textured sampling), cycling categories."""
    n_points = DEFAULT_POINTS if points is None else int(points)
    cats = list_categories()
    t0 = time.perf_counter()
    for i in range(SPEED_SHAPES):
        cat = cats[i % len(cats)]
        generate(cat, shape_seed(0, cat, i // len(cats), "speed"), n_points=n_points)
    seconds = time.perf_counter() - t0
    return {
        "stage": "synth",
        "shapes": SPEED_SHAPES,
        "points": n_points,
        "categories": len(cats),
        "seconds": round(seconds, 3),
        "ms_per_shape": round(1000 * seconds / SPEED_SHAPES, 1),
    }
