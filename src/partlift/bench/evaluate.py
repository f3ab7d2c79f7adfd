"""One shape through every method of a run: the unit of work of the serial and the Ray runner.

The shape is prepared (render, superpoints) and the teacher predicts once; each method then runs
on the same cached predictions. A method that raises on a shape gives an ``error`` record whose
prediction is empty (its parts score 0) — the run goes on. A teacher that finds nothing gives
every method an empty prediction too (the pipeline's documented empty result), so the shape
scores 0 for its parts.

Seconds per method and shape = preparation + teacher + that method: what the method costs on
the shape when it runs alone (per-category fitting and pre-alignment are counted separately).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from partlift.bench.datasets import eval_index
from partlift.bench.settings import BenchSettings
from partlift.types import Shape

if TYPE_CHECKING:
    from partlift.pipeline import Segmenter

__all__ = ["MethodJob", "ShapeResult", "make_segmenter", "evaluate_shape", "load_error_record",
           "teacher_options_for"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MethodJob:
    """A method to run on a shape: its (report) name, its ``method_options``, its record
    fingerprint and the registered method it runs as (an alias's base; "" = ``method``)."""

    method: str
    options: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    run_as: str = ""


@dataclass(frozen=True, eq=False)
class ShapeResult:
    """One method's result on one shape: the JSON record and the label arrays (scored points)."""

    record: dict[str, Any]
    arrays: dict[str, np.ndarray] | None


def teacher_options_for(settings: BenchSettings) -> dict[str, Any]:
    """Builder options of the run's teacher: the simulated teacher gets the run's seed when != 0;
    ``teacher_mode`` when set."""
    from partlift.teachers.registry import mode_options, seed_options

    return {**seed_options(settings.teacher, settings.seed, unless=0),
            **mode_options(settings.teacher, settings.teacher_mode)}


def make_segmenter(settings: BenchSettings, device: str | None = None) -> Segmenter:
    """The :class:`~partlift.pipeline.Segmenter` of a run (teacher, preset, seed, superpoints, device)."""
    from partlift.pipeline import Segmenter

    return Segmenter(
        teacher=settings.teacher,
        method="partslip",
        preset=settings.preset,
        device=device or settings.device,
        seed=settings.seed,
        superpoint_config=settings.superpoint_config(),
        teacher_options={**teacher_options_for(settings), "device": device or settings.device},
    )


def _short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]


def _iou_row(pred: np.ndarray, gt: np.ndarray, n_parts: int, protocol: str) -> np.ndarray:
    from partlift.metrics import shape_part_iou, shapenetpart_shape_iou

    if protocol == "shapenetpart":
        return shapenetpart_shape_iou(pred, gt, n_parts)
    return shape_part_iou(pred, gt, n_parts)


def _json_float(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 6)


def evaluate_shape(
    segmenter: Segmenter,
    shape: Shape,
    shape_id: str,
    category: str,
    part_names: Sequence[str],
    jobs: Sequence[MethodJob],
    protocol: str,
) -> list[ShapeResult]:
    """Run ``jobs`` on ``shape`` and score each against its ground truth (METHODS §1.6).

    Args:
        segmenter: the run's segmenter (its per-shape cache is reused across the jobs).
        shape: the labelled test shape.
        shape_id: ``"<Category>/<id>"``.
        category: the shape's category.
        part_names: the category's part names (index = label id).
        jobs: the methods to run.
        protocol: "partnete" (every point, §1.6.1-2) or "shapenetpart" (2048 points, §1.6.3).

    Returns:
        one :class:`ShapeResult` per job, in order.
    """
    from partlift.summary import ground_truth_for

    names = tuple(part_names)
    n = shape.n_points
    gt = ground_truth_for(shape, names)
    idx = eval_index(shape_id, n, protocol)
    shared_error = None if gt is not None else "the shape has no ground-truth labels"
    seconds = {"prepare": 0.0, "teacher": 0.0, "prepare_and_teacher": 0.0}
    stages: dict[str, float] = {}
    n_preds = None
    if shared_error is None:
        try:
            # The teacher runs on the views while the superpoints are computed: "prepare"
            # includes its run, "teacher" is its own time (Segmenter.prepare_and_predict).
            prepared, preds, seconds = segmenter.prepare_and_predict(shape, names)
            stages = {k: round(float(v), 4) for k, v in getattr(prepared, "timings", {}).items()}
            n_preds = len(preds)
        except Exception as exc:  # a broken shape must not stop the run
            shared_error = _short_error(exc)
            logger.warning("%s: preparation failed: %s", shape_id, shared_error)
            logger.debug("traceback", exc_info=True)
    empty = np.full(n, -1, np.int64)
    if gt is None:
        gt_sem = gt_ins = empty
    else:
        gt_sem, gt_ins = gt
    pick = (lambda a: a) if idx is None else (lambda a: a[idx])
    out = []
    for job in jobs:
        error = shared_error
        sem = ins = empty
        t = time.perf_counter()
        if error is None:
            try:
                labels = segmenter.segment(shape, names, method=job.run_as or job.method, options=dict(job.options))
                sem, ins = labels.semantic, labels.instance
            except Exception as exc:  # a method failing on one shape is recorded, not fatal
                error = _short_error(exc)
                logger.warning("%s on %s failed: %s", job.method, shape_id, error)
                logger.debug("traceback", exc_info=True)
        method_s = time.perf_counter() - t
        record: dict[str, Any] = {
            "shape": shape_id,
            "category": category,
            "method": job.method,
            "fingerprint": job.fingerprint,
            "status": "ok" if error is None else "error",
            "error": error,
            "n_points": int(n),
            "n_eval_points": int(n if idx is None else idx.size),
            "n_predictions": n_preds,
            "seconds": {
                "prepare": round(seconds["prepare"], 4),
                "teacher": round(seconds["teacher"], 4),
                "method": round(method_s, 4),
                "total": round(seconds["prepare_and_teacher"] + method_s, 4),
                "prepare_stages": stages,
            },
            "device": str(getattr(segmenter, "device", "")),
        }
        arrays = None
        if gt is not None:
            p_sem, p_ins, g_sem, g_ins = pick(sem), pick(ins), pick(gt_sem), pick(gt_ins)
            row = _iou_row(p_sem, g_sem, len(names), protocol)
            present = ~np.isnan(row)
            record["iou"] = {p: _json_float(v) for p, v in zip(names, row, strict=True)}
            record["shape_miou"] = _json_float(row[present].mean()) if present.any() else None
            arrays = {
                "pred_semantic": p_sem.astype(np.int32),
                "pred_instance": p_ins.astype(np.int32),
                "gt_semantic": g_sem.astype(np.int32),
                "gt_instance": g_ins.astype(np.int32),
            }
        else:
            record["iou"], record["shape_miou"] = {}, None
        out.append(ShapeResult(record, arrays))
    return out


def load_error_record(item: Any, job: MethodJob, exc: BaseException) -> dict[str, Any]:
    """The record of a shape that could not be loaded (``item``: a runner ``WorkItem``)."""
    return {"shape": item.shape_id, "category": item.category, "method": job.method,
            "fingerprint": job.fingerprint, "status": "error",
            "error": f"cannot load the shape: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}",
            "n_points": 0, "n_eval_points": 0, "n_predictions": None, "iou": {}, "shape_miou": None,
            "seconds": {"prepare": 0.0, "teacher": 0.0, "method": 0.0, "total": 0.0}, "device": ""}
