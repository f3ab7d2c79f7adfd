"""``partlift speed teacher``: the learned teacher on the 10 views of one 50k-point shape.

Times :meth:`partlift.teachers.learned.teacher.LearnedTeacher.predict` (network inputs at its
working resolution, forward passes, connected components, boxes, scores, features) on the views
of a generated KitchenPot, at the ``partslip`` render preset (800² views) and at ``fast``; the
render itself is not timed (``partlift speed render``). Issue 15's target: < 1 s per 10-view
shape on 2 CPU cores.
"""

from __future__ import annotations

import time
from typing import Any

from partlift.errors import InputError

__all__ = ["DEFAULT_POINTS", "speed_teacher"]

DEFAULT_POINTS = 50_000
_CATEGORY = "KitchenPot"
_SEED = 0
_REPEATS = 3


def speed_teacher(points: int | None, device: str, *, presets: tuple[str, ...] = ("partslip", "fast"),
                  repeats: int = _REPEATS) -> dict[str, Any]:
    """Best of ``repeats`` learned-teacher calls on one shape's views, per render preset (after one
    warm-up call). ``presets`` and ``repeats`` exist for quick tests.

    Returns:
        ``{"stage": "teacher", "teacher" (the checkpoint that labels the category), "category", "points", "views", "resolution",
        "seconds" (the first preset's), "seconds_per_view", "by_preset": {preset: seconds},
        "predictions"}``.
    """
    import torch

    from partlift.data import synthetic
    from partlift.prepare import prepare_shape
    from partlift.render import resolve_device
    from partlift.teachers.registry import build_teacher

    if not presets or repeats < 1:
        raise InputError(f"speed teacher: expected at least one preset and repeats >= 1, got {presets}, {repeats}")
    n = DEFAULT_POINTS if points is None else int(points)
    dev = resolve_device(device)
    teacher = build_teacher("learned", device=str(dev))
    shape = synthetic.generate(_CATEGORY, synthetic.shape_seed(_SEED, _CATEGORY, 0, "speed"), n_points=n)
    names = tuple(shape.part_names or ())
    by_preset: dict[str, float] = {}
    n_views = n_preds = 0
    for preset in presets:
        prepared = prepare_shape(shape, preset, superpoints=False, device=str(dev))
        teacher.predict(prepared.views, names, prepared.shape)  # warm-up (allocator, first calls)
        times = []
        for _ in range(repeats):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            preds = teacher.predict(prepared.views, names, prepared.shape)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            times.append(time.perf_counter() - t0)
        by_preset[preset] = round(min(times), 4)
        if preset == presets[0]:
            n_views, n_preds = prepared.views.n_views, len(preds)
    first = by_preset[presets[0]]
    member = teacher.member_for(_CATEGORY) if hasattr(teacher, "member_for") else teacher
    return {
        "stage": "teacher",
        "teacher": member.name,
        "category": _CATEGORY,
        "points": n,
        "views": n_views,
        "resolution": member.resolution,
        "preset": presets[0],
        "seconds": first,
        "seconds_per_view": round(first / max(n_views, 1), 4),
        "by_preset": by_preset,
        "predictions": n_preds,
        "torch_threads": torch.get_num_threads(),
    }
