"""``partlift speed vote``: PartSLIP voting + instance grouping, vectorised vs the loop reference.

The input is what the pipeline gives the vote: a generated Chair (:mod:`partlift.data.synthetic`,
seed 0, 100,000 points by default) normalised to the unit sphere with estimated normals, rendered
by the real renderer with the ``partslip`` rig (10 views, 800 x 800, METHODS §1.2), over-segmented
by the real superpoints (default settings, METHODS §1.4), and the box predictions of the
``simulated:zeroshot`` teacher (seed 0: jittered boxes, misses, wrong labels, merged and
whole-object boxes). Both implementations run on the same inputs; the preparation is not timed.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

from partlift.errors import InputError
from partlift.types import Predictions, Views

__all__ = ["CATEGORY", "DEFAULT_POINTS", "PRESET", "TEACHER", "VoteInputs", "speed_vote", "vote_inputs"]

CATEGORY = "Chair"
DEFAULT_POINTS = 100_000
PRESET = "partslip"
TEACHER = "simulated:zeroshot"
_SEED = 0
_REPEATS = 5


class VoteInputs(NamedTuple):
    """Inputs of PartSLIP voting: views, box predictions, superpoints (N,) int64, xyz (N, 3)."""

    views: Views
    preds: Predictions
    superpoints: np.ndarray
    xyz: np.ndarray


def vote_inputs(n_points: int, *, category: str = CATEGORY, seed: int = _SEED, preset: str = PRESET,
                teacher: str = TEACHER, device: str = "cpu") -> VoteInputs:
    """Prepare a generated shape as the pipeline does and predict its parts (see the module doc).

    Returns:
        :class:`VoteInputs`; ``xyz`` in the unit-sphere frame, ``preds`` for the category's parts.
    """
    from partlift.data.synthetic import generate
    from partlift.geometry import ensure_normals, normalize
    from partlift.render import render
    from partlift.superpoints import superpoints_for_shape
    from partlift.teachers.registry import build_teacher

    if n_points < 1:
        raise InputError(f"speed vote: expected at least 1 point, got {n_points}")
    shape = generate(category, seed, n_points=n_points)
    norm = ensure_normals(normalize(shape).replace(normals=None))
    views = render(norm, preset, device=device)
    superpoints = superpoints_for_shape(norm)
    preds = build_teacher(teacher, seed=seed).predict(views, shape.part_names, norm)
    return VoteInputs(views, preds, superpoints, norm.xyz)


def speed_vote(points: int | None, device: str) -> dict[str, Any]:
    """Time :func:`partslip_labels` (median of 5) and its loop reference (once) on the same inputs.

    Returns:
        ``{"stage": "vote", "points", "superpoints", "views", "boxes", "labelled_points",
        "instances", "seconds", "reference_seconds", "speedup", "identical"}``.
    """
    from partlift.lifting.reference import partslip_labels_reference
    from partlift.lifting.voting import partslip_labels

    n = DEFAULT_POINTS if points is None else int(points)
    case = vote_inputs(n, device=device)  # voting itself is numpy: the device serves the render
    args = (case.views, case.preds, case.superpoints, case.xyz)

    times = []
    for _ in range(_REPEATS):
        t0 = time.perf_counter()
        fast = partslip_labels(*args)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ref = partslip_labels_reference(*args)
    ref_seconds = time.perf_counter() - t0
    seconds = float(np.median(times))
    identical = bool(
        np.array_equal(fast.semantic, ref.semantic)
        and np.array_equal(fast.instance, ref.instance)
        and np.array_equal(fast.scores, ref.scores)
    )
    return {
        "stage": "vote",
        "points": n,
        "superpoints": int(case.superpoints.max()) + 1,
        "views": case.views.n_views,
        "boxes": len(case.preds),
        "labelled_points": int((fast.semantic >= 0).sum()),
        "instances": int(fast.instance.max()) + 1,
        "seconds": round(seconds, 5),
        "reference_seconds": round(ref_seconds, 4),
        "speedup": round(ref_seconds / seconds, 1),
        "identical": identical,
    }
