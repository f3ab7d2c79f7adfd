"""Speed stages ``pipeline`` and ``pipeline-rss`` of ``partlift speed`` (DESIGN §4 targets).

* ``pipeline``: the whole zero-shot pipeline on one 100k-point generated chair — normalisation
  and normals, the 10-view 800² render, superpoints, then coverage + voting + instance grouping
  (the ``partslip`` method) — **excluding the teacher's forward passes** (timed separately and
  reported as ``teacher_seconds``). Target: < 3 s on the 2-core CPU (DESIGN §4), < 1 s (issue 17).
  The same shape is run three times, each by a new ``Segmenter`` (nothing cached): the first
  run is reported as ``seconds_cold``, the best of the other two as ``seconds`` (the state of
  a process that segments a dataset; as the normals, render and superpoints rigs, 3 Dec 2026 —
  before, ``seconds`` was the one first run, 0.15-0.3 s more and the noisiest figure of the
  table).
* ``pipeline-rss``: the same on a 300k-point chair, for the peak resident memory of the process
  (``peak_rss_mb``, added by :func:`partlift.bench.speed.run_stage`; it includes the simulated teacher).
  Target: < 4 GiB. One run.

A small shape is segmented first so that imports are not timed.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["speed_pipeline", "speed_pipeline_rss", "PIPELINE_POINTS", "RSS_POINTS"]

PIPELINE_POINTS = 100_000
RSS_POINTS = 300_000
_CATEGORY = "Chair"
_SEED = 0
_WARMUP_POINTS = 2_000
_REPEATS = 2


def _run(points: int, device: str, repeats: int = 0) -> dict[str, Any]:
    """One cold run, then the best of ``repeats`` more (each by a new Segmenter), on one shape."""
    from partlift.data import synthetic
    from partlift.pipeline import Segmenter
    from partlift.render import resolve_device

    dev = str(resolve_device(device))

    def segmenter() -> Any:
        # No on-disk prediction cache: every run predicts afresh and nothing is written.
        return Segmenter(teacher="simulated:zeroshot", method="partslip", preset="partslip", device=dev, seed=_SEED,
                         cache_dir=None)

    segmenter().segment(synthetic.generate(_CATEGORY, _SEED + 1, n_points=_WARMUP_POINTS))
    shape = synthetic.generate(_CATEGORY, _SEED, n_points=points)
    cold = _once(segmenter(), shape, dev)
    best = cold
    for i in range(repeats):
        row = _once(segmenter(), shape, dev)
        if i == 0 or row["seconds"] < best["seconds"]:
            best = row
    out = dict(best)
    if repeats:
        out.update(seconds_cold=cold["seconds"], repeats=repeats)
    return out


def _once(seg: Any, shape: Any, dev: str) -> dict[str, Any]:
    """Prepare, predict and segment ``shape`` once with ``seg``; seconds without the teacher."""
    names = tuple(shape.part_names or ())
    _sync(dev)
    t0 = time.perf_counter()
    prepared = seg.prepare(shape)
    _sync(dev)
    t1 = time.perf_counter()
    preds = seg.predictions(shape, names)
    t2 = time.perf_counter()
    labels = seg.segment(shape, names)
    _sync(dev)
    t3 = time.perf_counter()
    stages = {k: round(v, 4) for k, v in prepared.timings.items()}
    stages["vote"] = round(t3 - t2, 4)
    return {
        "points": shape.n_points,
        "category": _CATEGORY,
        "superpoints": int(prepared.superpoints.max()) + 1,
        "predictions": len(preds),
        "labelled_fraction": round(float((labels.semantic >= 0).mean()), 4),
        "seconds": round((t1 - t0) + (t3 - t2), 4),
        "prepare_seconds": round(t1 - t0, 4),
        "teacher_seconds": round(t2 - t1, 4),
        "stages": stages,
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def speed_pipeline(points: int | None, device: str) -> dict[str, Any]:
    """Seconds of the zero-shot pipeline without the teacher on a 100k-point shape, with a breakdown.

    Returns:
        ``{"stage": "pipeline", "points", "seconds" (total excluding the teacher),
        "prepare_seconds", "teacher_seconds", "stages": {"normalize", "render", "superpoints",
        "vote"}, ...}`` where "vote" is coverage + voting + instance grouping + mapping back to the
        points. "render" and "superpoints" run at the same time (``prepare_shape``), so
        ``prepare_seconds`` is less than normalize + render + superpoints. The best of two warm
        runs; ``seconds_cold`` is the first run's and ``repeats`` is 2 (module doc).
    """
    # issue 17's target (DESIGN §4's first target was 3.0 s)
    return {"stage": "pipeline", "target_seconds": 1.0,
            **_run(PIPELINE_POINTS if points is None else int(points), device, repeats=_REPEATS)}


def speed_pipeline_rss(points: int | None, device: str) -> dict[str, Any]:
    """The pipeline on a 300k-point shape, for its peak RSS (target < 4096 MiB)."""
    return {"stage": "pipeline-rss", "target_peak_rss_mb": 4096,
            **_run(RSS_POINTS if points is None else int(points), device)}
