"""``partlift speed synth``: generate 100 shapes (mesh + textured sampling), cycling the categories."""

from __future__ import annotations

import time
from typing import Any

from partlift.data.synthetic.generator import DEFAULT_POINTS, generate, list_categories, shape_seed
from partlift.errors import InputError

__all__ = ["SPEED_SHAPES", "speed_synth"]

SPEED_SHAPES = 100


def speed_synth(points: int | None, device: str, *, shapes: int = SPEED_SHAPES) -> dict[str, Any]:  # noqa: ARG001 - CPU only
    """Time generating ``shapes`` shapes; shape ``i`` is category ``i mod C`` with the seed
    ``shape_seed(0, category, i // C, "speed")`` (C categories, cycled in sorted order).

    ``shapes`` exists for quick tests; ``partlift speed synth`` uses :data:`SPEED_SHAPES`.

    Returns:
        ``{"stage": "synth", "shapes", "points", "categories", "seconds", "ms_per_shape"}``.
    """
    if shapes < 1:
        raise InputError(f"speed synth: shapes must be >= 1, got {shapes}")
    n_points = DEFAULT_POINTS if points is None else int(points)
    cats = list_categories()
    t0 = time.perf_counter()
    for i in range(shapes):
        cat = cats[i % len(cats)]
        generate(cat, shape_seed(0, cat, i // len(cats), "speed"), n_points=n_points)
    seconds = time.perf_counter() - t0
    return {
        "stage": "synth",
        "shapes": shapes,
        "points": n_points,
        "categories": len(cats),
        "seconds": round(seconds, 3),
        "ms_per_shape": round(1000 * seconds / shapes, 1),
    }
