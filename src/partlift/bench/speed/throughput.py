"""``partlift speed throughput``: shapes per minute through :class:`~partlift.pipeline.Segmenter`.

The figure a user labelling a dataset cares about (issue 17 item 6). A batch of generated shapes
(``partlift.data.synthetic``; shape ``i`` is category ``i mod C`` in sorted order, seed
``shape_seed(0, category, i // C, "throughput")``, 100,000 points each by default) is generated
first (not timed), then run twice, each time by a new ``Segmenter`` (``partslip`` method and
render preset, the simulated zero-shot teacher, no on-disk prediction cache, so every shape is
prepared and predicted afresh). Two rates are reported:

* **teacher excluded** (``shapes_per_minute``, from ``seconds``), first pass: per shape
  ``Segmenter.prepare`` (normalise, normals, render, superpoints) timed, the teacher's
  predictions (not timed), then ``segment``'s ``method`` timing (coverage, voting, grouping,
  mapping back) — what partlift itself costs per shape;
* **teacher included** (``shapes_per_minute_with_teacher``, from ``seconds_with_teacher``),
  second pass: the wall time of plain ``segment`` calls, the simulated teacher included — which
  runs on the views while the superpoints are computed (``Segmenter.prepare_and_predict``,
  3 Dec 2026; before, one pass gave both figures and the teacher waited for the superpoints).
  The simulated teacher is a stand-in (boxes from the ground truth): a real GLIP / SAM teacher
  adds its own forward passes, ~10 per shape, whose cost depends on the model and the device.

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
        "seconds" (pass 1: prepare + method, summed), "shapes_per_minute", "seconds_with_teacher"
        (pass 2: the segment calls' wall time), "shapes_per_minute_with_teacher",
        "teacher_seconds" (pass 2: the teacher's own seconds, overlapping the superpoints),
        "seconds_by_step" (pass 1: summed ``prepare``, ``method`` and the preparation's own
        steps; ``teacher``: pass 2's), "seconds_per_shape" ({"min", "median", "max"} of
        prepare + method), "cpu_seconds" (of pass 2, all threads), "load_average_1min"}``.
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
    def segmenter() -> Any:
        return Segmenter(teacher="simulated:zeroshot", method="partslip", preset="partslip", device=dev,
                         seed=_SEED, cache_dir=None, cache_size=1)

    segmenter().segment(generate(batch[0], _SEED + 1, n_points=_WARMUP_POINTS))  # imports, first allocations

    # Pass 1, teacher excluded: prepare (timed), predictions (not timed), method (segment's timing).
    seg = segmenter()
    steps: dict[str, float] = {}
    per_shape: list[float] = []
    _sync(dev)
    for shape in inputs:
        t0 = time.perf_counter()
        prepared = seg.prepare(shape)
        _sync(dev)
        prepare_s = time.perf_counter() - t0
        seg.predictions(shape)
        timings = dict(seg.segment(shape).meta["timings"])
        _sync(dev)
        timings.pop("prepare_and_teacher", None)  # ~0 here: prepared and predicted above
        timings.update({"prepare": prepare_s, **{f"prepare.{k}": v for k, v in prepared.timings.items()}})
        for k, v in timings.items():
            steps[k] = steps.get(k, 0.0) + float(v)
        per_shape.append(prepare_s + float(timings["method"]))
    own = steps["prepare"] + steps["method"]
    # Pass 2, teacher included: plain segment calls, wall time.
    seg = segmenter()
    teacher_s = 0.0
    _sync(dev)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for shape in inputs:
        teacher_s += float(seg.segment(shape).meta["timings"]["teacher"])
        _sync(dev)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    steps["teacher"] = teacher_s  # pass 1 read its predictions from the Segmenter's cache
    return {
        "stage": "throughput",
        "shapes": shapes,
        "points": n_points,
        "categories": batch,
        "seconds": round(own, 3),
        "shapes_per_minute": round(60.0 * shapes / own, 2) if own > 0 else None,
        "seconds_with_teacher": round(wall, 3),
        "shapes_per_minute_with_teacher": round(60.0 * shapes / wall, 2) if wall > 0 else None,
        "teacher_seconds": round(teacher_s, 3),
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
