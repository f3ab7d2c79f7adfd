"""Speed figures of PartDistill (``partlift speed distill-tta`` / ``distill-pre``).

* ``distill-tta``: one generated Chair of ``points`` (default 30,000) points, the ``fast`` render
  preset and ``simulated:zeroshot`` box predictions; times the TTA method itself (knowledge,
  alignment, labelling every point) apart from the render and the teacher it consumes.
* ``distill-pre``: one category (Chair), 100 generated shapes of ``points`` (default 10,000)
  points; times the teacher knowledge of the collection and the pre-alignment, then the
  pre-aligned student labelling one new 30,000-point shape: the forward pass alone
  (``segment_seconds``, best of 3, no preparation), and the whole ``Segmenter.segment`` call with
  ``method="partdistill"`` on a fresh segmenter (``segment_end_to_end``, per render preset:
  normalise + normals, render, superpoints, the teacher — whose predictions feed the instance
  grouping only — and the method: student load, forward pass, instances).

CPU time (``cpu_seconds``, all threads) is reported beside wall time: on a shared machine the wall
time depends on the other processes, the CPU time much less. Measurements, never assertions.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from partlift.distill.config import DistillConfig, distill_preset

__all__ = ["speed_distill_tta", "speed_distill_tta_m2ae", "speed_distill_pre"]

TTA_POINTS = 30_000
PRE_POINTS = 10_000
PRE_SHAPES = 100
CATEGORY = "Chair"
TEACHER = "simulated:zeroshot"


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> tuple[float, float]:
    return round(time.perf_counter() - t[0], 3), round(time.process_time() - t[1], 3)


def _env() -> dict[str, Any]:
    return {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def speed_distill_tta(points: int | None, device: str, config: DistillConfig | None = None) -> dict[str, Any]:
    """Time PartDistill TTA on one generated shape (see the module doc)."""
    from partlift.config import render_preset
    from partlift.data.synthetic import generate, shape_seed
    from partlift.distill.align import align
    from partlift.distill.knowledge import build_knowledge, render_for_teacher
    from partlift.distill.student import predict_shape
    from partlift.metrics import shape_miou
    from partlift.teachers.registry import build_teacher

    n = int(points or TTA_POINTS)
    cfg = config or distill_preset("default")
    shape = generate(CATEGORY, shape_seed(0, CATEGORY, 0, "test"), n_points=n)
    t = _clock()
    norm, views = render_for_teacher(shape, render_preset("fast"), device)
    preds = build_teacher(TEACHER, seed=0, mode="box").predict(views, shape.part_names, norm)
    prep = _since(t)
    sp, sp_s = _superpoints_if_needed(norm, cfg)
    t = _clock()
    know = build_knowledge(norm, views, preds, cfg, region="box")
    k_s = _since(t)
    t = _clock()
    res = align([know], shape.part_names, cfg, regime="tta", device=device,
                superpoints=None if sp is None else [sp[know.point_index]])
    a_s = _since(t)
    t = _clock()
    labels, _ = predict_shape(res.student, norm.xyz, norm.rgb, norm.normals, device=device, superpoints=sp)
    p_s = _since(t)
    total = (round(k_s[0] + a_s[0] + p_s[0], 3), round(k_s[1] + a_s[1] + p_s[1], 3))
    breakdown = {"render+teacher": prep, "superpoints": sp_s, "knowledge": k_s, "align": a_s, "predict": p_s}
    return {
        "stage": "distill-tta", "points": n, "category": CATEGORY, "teacher": TEACHER,
        "predictions": len(preds), "seconds": total[0], "cpu_seconds": total[1],
        "breakdown_seconds": {k: v[0] for k, v in breakdown.items() if v is not None},
        "breakdown_cpu_seconds": {k: v[1] for k, v in breakdown.items() if v is not None},
        "steps": cfg.tta_epochs * cfg.tta_steps_per_epoch, "backbone": cfg.backbone, "head_hidden": cfg.head_hidden,
        "feature_cache": cfg.feature_cache, "pool": cfg.pool,
        "backward_epoch": res.backward_epoch, "miou": round(float(shape_miou(labels, shape.semantic, len(shape.part_names))), 4),
        **_env(),
    }


def _superpoints_if_needed(shape: Any, cfg: DistillConfig) -> tuple[np.ndarray | None, tuple[float, float] | None]:
    """The shape's superpoints and their (wall, CPU) seconds when ``cfg`` pools over them (the
    Segmenter's shared preparation computes them for every method; timed apart from the method)."""
    if cfg.pool != "superpoints" and not (cfg.backward and cfg.rescore_pool):
        return None, None
    from partlift.superpoints import superpoints_for_shape

    t = _clock()
    sp = superpoints_for_shape(shape)
    return sp, _since(t)


def speed_distill_tta_m2ae(points: int | None, device: str) -> dict[str, Any]:
    """``distill-tta`` with the ``point-m2ae-fast`` preset: the frozen Point-M2AE encoder (random
    weights unless the preset is given a file) with the features of 16 augmented draws cached and a 256-wide head."""
    return {**speed_distill_tta(points, device, distill_preset("point-m2ae-fast")), "stage": "distill-tta-m2ae"}


def _segment_end_to_end(student: Any, shape: Any, device: str, presets: tuple[str, ...]) -> dict[str, Any]:
    """Seconds of ``Segmenter.segment(shape, method="partdistill")`` per render preset, fresh
    segmenter each (nothing cached), with the pipeline's stage timings."""
    import tempfile
    from pathlib import Path

    from partlift.distill.align import save_student
    from partlift.pipeline import Segmenter

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = save_student(Path(tmp) / "student.safetensors", student,
                            {"part_names": list(shape.part_names), "backbone": student.config.backbone,
                             "config": student.config.to_dict(), "teacher": TEACHER, "category": CATEGORY})
        for preset in presets:
            seg = Segmenter(teacher=TEACHER, method="partdistill", preset=preset, device=device, seed=0,
                            method_options={"student": str(path)})
            t = _clock()
            labels = seg.segment(shape, shape.part_names)
            wall, cpu = _since(t)
            timings = labels.meta["timings"]
            out[preset] = {
                "seconds": wall, "cpu_seconds": cpu,
                "prepare": round(timings["prepare"], 3), "teacher": round(timings["teacher"], 3),
                "method": round(timings["method"], 3),
                "prepare_breakdown": {k.split(".", 1)[1]: round(v, 3) for k, v in timings.items()
                                      if k.startswith("prepare.")},
                "student_forward": labels.meta["distill"]["seconds"]["forward"],
            }
    return out


def speed_distill_pre(points: int | None, device: str, config: DistillConfig | None = None,
                      n_shapes: int = PRE_SHAPES, presets: tuple[str, ...] = ("fast", "partslip")) -> dict[str, Any]:
    """Time PartDistill pre-alignment on one category of ``n_shapes`` generated shapes."""
    from partlift.data.synthetic import generate, shape_seed
    from partlift.distill.align import align
    from partlift.distill.collection import collection_knowledge
    from partlift.distill.student import predict_shape

    n = int(points or PRE_POINTS)
    cfg = config or distill_preset("default")
    names = None
    from partlift.data.synthetic import category_parts

    names = category_parts(CATEGORY)
    t = _clock()
    coll = collection_knowledge([f"synthetic:{CATEGORY}:{n_shapes}"], names, TEACHER, cfg.replace(region="box"),
                                n_points=n, device=device)
    k_s = _since(t)
    t = _clock()
    res = align(coll.knowledge, names, cfg, regime="pre", device=device)
    a_s = _since(t)
    test = generate(CATEGORY, shape_seed(0, CATEGORY, 0, "test"), n_points=TTA_POINTS)
    sp, _ = _superpoints_if_needed(test, cfg)
    predict_shape(res.student, test.xyz, device=device, superpoints=sp)  # warm-up
    times = []
    for _ in range(3):
        t = _clock()
        predict_shape(res.student, test.xyz, test.rgb, test.normals, device=device, superpoints=sp)
        times.append(_since(t))
    seg = min(times)
    end_to_end = _segment_end_to_end(res.student, test, device, presets)
    return {
        "stage": "distill-pre", "points": n, "category": CATEGORY, "teacher": TEACHER, "shapes": n_shapes,
        "kept": len(coll.knowledge), "skipped": len(coll.skipped),
        "seconds": round(k_s[0] + a_s[0], 3), "cpu_seconds": round(k_s[1] + a_s[1], 3),
        "breakdown_seconds": {"knowledge": k_s[0], "align": a_s[0]},
        "breakdown_cpu_seconds": {"knowledge": k_s[1], "align": a_s[1]},
        "segment_seconds": seg[0], "segment_cpu_seconds": seg[1], "segment_points": TTA_POINTS,
        "segment_end_to_end": end_to_end,
        "epochs": cfg.epochs, "backbone": cfg.backbone, "backward_epoch": res.backward_epoch,
        "mean_epoch_seconds": round(float(np.mean([r["seconds"] for r in res.log])), 3),
        **_env(),
    }
