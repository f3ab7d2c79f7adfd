"""``partlift speed throughput``: shapes per minute through :class:`~partlift.pipeline.Segmenter`.

The figure a user labelling a dataset cares about (issue 17 item 6). A batch of generated shapes
(``partlift.data.synthetic``; shape ``i`` is category ``i mod C`` in sorted order, seed
``shape_seed(0, category, i // C, "throughput")``, 100,000 points each by default) is generated
first (not timed), then segmented one after the other by one ``Segmenter`` (``partslip`` method
and render preset, the simulated zero-shot teacher, no on-disk prediction cache, so every shape
is prepared and predicted afresh). Two rates are reported:

* **teacher excluded** (``shapes_per_minute``, from ``seconds``): the sum over shapes of the
  Segmenter's own ``prepare`` (normalise, normals, render, superpoints) and ``method`` (coverage,
  voting, grouping, mapping back) timings — what partlift itself costs per shape;
* **teacher included** (``shapes_per_minute_with_teacher``, from ``seconds_with_teacher``): the
  wall time of the whole ``segment`` calls, the simulated teacher included. The simulated teacher
  is a stand-in (boxes from the ground truth): a real GLIP / SAM teacher adds its own forward
  passes, ~10 per shape, whose cost depends on the model and the device.

A small shape is segmented first so that imports and first-call allocations are not timed.
CPU seconds of the process and the 1-minute load average come with the figures (the CPU may be
shared). Measurements for tables, never assertions.
"""

from __future__ import annotations

import os
import time
from typing import Any

from partlift.errors import InputError

__all__ = ["THROUGHPUT_POINTS", "THROUGHPUT_SHAPES", "speed_throughput"]

THROUGHPUT_SHAPES = 8
THROUGHPUT_POINTS = 100_000
_SEED = 0
_WARMUP_POINTS = 2_000


def speed_throughput(points: int | None, device: str, *, shapes: int = THROUGHPUT_SHAPES) -> dict[str, Any]:
    """Shapes per minute of ``Segmenter.segment`` on a batch of generated shapes.

    Args:
        points: points per shape (default :data:`THROUGHPUT_POINTS`).
        device: torch device of the render / method (``"cpu"``, ``"cuda"``, ``"auto"``).
        shapes: batch size (default :data:`THROUGHPUT_SHAPES`; small values for quick tests).

    Returns:
        ``{"stage": "throughput", "shapes", "points", "categories" (the batch's, in order),
        "seconds" (prepare + method, summed), "shapes_per_minute", "seconds_with_teacher"
        (the segment calls' wall time), "shapes_per_minute_with_teacher", "teacher_seconds",
        "seconds_by_step" (summed ``prepare``, ``method``, ``teacher`` and the preparation's own
        steps), "seconds_per_shape" ({"min", "median", "max"} of prepare + method),
        "cpu_seconds" (of the timed loop, all threads), "load_average_1min"}``.
    """
    import numpy as np

    from partlift.data.synthetic.generator import generate, list_categories, shape_seed
    from partlift.pipeline import Segmenter
    from partlift.render import resolve_device

    if isinstance(shapes, bool) or not isinstance(shapes, int) or shapes < 1:
        raise InputError(f"speed throughput: shapes must be an int >= 1, got {shapes!r}")
    n_points = THROUGHPUT_POINTS if points is None else int(points)
    if n_points < 100:
        raise InputError(f"speed throughput: points must be >= 100, got {n_points}")
    dev = str(resolve_device(device))
    cats = list_categories()
    batch = [cats[i % len(cats)] for i in range(shapes)]
    inputs = [generate(cat, shape_seed(_SEED, cat, i // len(cats), "throughput"), n_points=n_points)
              for i, cat in enumerate(batch)]
    seg = Segmenter(teacher="simulated:zeroshot", method="partslip", preset="partslip", device=dev,
                    seed=_SEED, cache_dir=None, cache_size=1)
    seg.segment(generate(batch[0], _SEED + 1, n_points=_WARMUP_POINTS))  # imports, first allocations

    steps: dict[str, float] = {}
    per_shape: list[float] = []
    _sync(dev)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for shape in inputs:
        labels = seg.segment(shape)
        _sync(dev)
        timings = labels.meta["timings"]
        for k, v in timings.items():
            steps[k] = steps.get(k, 0.0) + float(v)
        per_shape.append(float(timings["prepare"]) + float(timings["method"]))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    own = steps["prepare"] + steps["method"]
    return {
        "stage": "throughput",
        "shapes": shapes,
        "points": n_points,
        "categories": batch,
        "seconds": round(own, 3),
        "shapes_per_minute": round(60.0 * shapes / own, 2) if own > 0 else None,
        "seconds_with_teacher": round(wall, 3),
        "shapes_per_minute_with_teacher": round(60.0 * shapes / wall, 2) if wall > 0 else None,
        "teacher_seconds": round(steps["teacher"], 3),
        "seconds_by_step": {k: round(v, 3) for k, v in sorted(steps.items())},
        "seconds_per_shape": {"min": round(min(per_shape), 3), "median": round(float(np.median(per_shape)), 3),
                              "max": round(max(per_shape), 3)},
        "cpu_seconds": round(cpu, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "teacher": "simulated:zeroshot",
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
