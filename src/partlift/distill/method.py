"""PartDistill as :class:`~partlift.pipeline.Segmenter` methods (METHODS §4).

* ``"partdistill"`` — a pre-aligned student (``method_options={"student": FILE}``, CLI
  ``--student FILE``) labels the shape with one forward pass; the teacher's predictions are not
  used for the labels (the pipeline still computes them; they feed the instance grouping).
* ``"partdistill-tta"`` — test-time alignment: a fresh student is aligned on the shape's own
  teacher knowledge (forward + backward distillation) and then labels it.

Options (``Segmenter(method_options=...)``): ``student`` (checkpoint path, ``partdistill``),
``distill_config`` (a :class:`~partlift.distill.config.DistillConfig`, a dict of its fields, or a
preset name; ``partdistill-tta``), ``weights`` (a PartSTAD weight-net checkpoint whose weights
replace the teacher scores as confidences, ``partdistill-tta``; beyond the paper).

Both label every point by the student (a point whose argmax is the "none" output gets -1).
PartDistill predicts semantics only; instances here come from PartSLIP's grouping (§2.5) applied
to the student's labels made per superpoint by majority (a point whose own label differs from its
superpoint's gets instance -1), so that the benchmark can report mAP50 for it too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from partlift.distill.config import DistillConfig, config_from_dict, distill_preset
from partlift.errors import InputError
from partlift.pipeline import MethodResult, PreparedShape
from partlift.types import Predictions

__all__ = ["run_partdistill", "run_partdistill_tta", "method_config", "superpoint_majority"]

logger = logging.getLogger(__name__)


def method_config(options: dict[str, Any], seed: int) -> DistillConfig:
    """The DistillConfig of ``options["distill_config"]`` (default preset), with ``seed``."""
    raw = options.get("distill_config", "default")
    if isinstance(raw, DistillConfig):
        cfg = raw
    elif isinstance(raw, str):
        cfg = distill_preset(raw)
    elif isinstance(raw, dict):
        cfg = config_from_dict(raw)
    else:
        raise InputError(
            f"partdistill-tta: distill_config must be a DistillConfig, a dict or a preset name, got {type(raw).__name__}"
        )
    return cfg.replace(seed=int(seed))


def superpoint_majority(labels: np.ndarray, superpoints: np.ndarray) -> np.ndarray:
    """(M,) int64 most frequent point label (-1 included) per superpoint; ties -> smaller label."""
    m = int(superpoints.max()) + 1 if superpoints.size else 0
    k = int(labels.max()) + 2 if labels.size else 1
    counts = np.zeros((m, k), np.int64)
    np.add.at(counts, (superpoints, labels + 1), 1)
    return counts.argmax(axis=1).astype(np.int64) - 1


def _instances(segmenter: Any, prepared: PreparedShape, predictions: Predictions, labels: np.ndarray) -> np.ndarray:
    from partlift.lifting.instances import group_instances

    n = labels.shape[0]
    if len(predictions) == 0 or not (labels >= 0).any():
        return np.full(n, -1, np.int64)
    sp = prepared.superpoints
    sp_labels = superpoint_majority(labels, sp)
    inst = group_instances(prepared.views, predictions, sp, sp_labels, prepared.shape.xyz, segmenter.vote_config)
    inst = inst.copy()
    inst[labels != sp_labels[sp]] = -1
    return inst


def _empty(n: int, c: int, meta: dict[str, Any]) -> MethodResult:
    return MethodResult(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.zeros((n, c), np.float32), meta)


def run_partdistill(segmenter: Any, prepared: PreparedShape, predictions: Predictions) -> MethodResult:
    """Label the shape with a pre-aligned student (``method_options["student"]``)."""
    from partlift.distill.align import load_student
    from partlift.distill.student import predict_shape

    path = segmenter.method_options.get("student")
    if not path:
        raise InputError(
            "method 'partdistill' needs a pre-aligned student: pass method_options={'student': FILE} "
            "(CLI: --student FILE; make one with `partlift distill`), or use --method partdistill-tta"
        )
    t0 = time.perf_counter()
    loaded = load_student(path, device=segmenter.device, part_names=predictions.part_names)
    t1 = time.perf_counter()
    shape = prepared.shape
    labels, probs = predict_shape(loaded.student, shape.xyz, shape.rgb, shape.normals, device=segmenter.device,
                                  seed=segmenter.seed, shape_name=shape.name)
    t2 = time.perf_counter()
    trained_with = loaded.meta.get("teacher")
    if trained_with and trained_with != segmenter.teacher.name:
        logger.info("student %s was distilled from %s; the segmenter's teacher %s is used only for instances",
                    path, trained_with, segmenter.teacher.name)
    instance = _instances(segmenter, prepared, predictions, labels)
    meta = {"distill": {
        "student": str(path), "regime": "pre", "backbone": loaded.meta.get("backbone"),
        "category": loaded.meta.get("category"), "teacher": trained_with,
        "seconds": {"load": round(t1 - t0, 4), "forward": round(t2 - t1, 4)},
    }}
    return MethodResult(labels, instance, probs, meta)


def run_partdistill_tta(segmenter: Any, prepared: PreparedShape, predictions: Predictions) -> MethodResult:
    """Align a fresh student on this shape's teacher knowledge, then label it (TTA)."""
    from partlift.distill.align import align
    from partlift.distill.knowledge import build_knowledge, resolve_region, stad_confidences
    from partlift.distill.student import predict_shape

    options = segmenter.method_options
    config = method_config(options, segmenter.seed)
    names = tuple(predictions.part_names)
    shape = prepared.shape
    n, c = shape.n_points, len(names)
    t0 = time.perf_counter()
    weights = options.get("weights")
    conf = None
    if weights:
        conf = stad_confidences(weights, predictions, prepared.views, teacher=segmenter.teacher.name,
                                device=segmenter.device)
        config = config.replace(confidence="weights")
    region = resolve_region(config.region, getattr(segmenter.teacher, "kind", None), predictions)
    know = build_knowledge(shape, prepared.views, predictions, config, region=region, confidences=conf)
    t1 = time.perf_counter()
    base = {"regime": "tta", "region": region, "confidence": config.confidence, "n_pairs": know.n_pairs,
            "covered_fraction": round(know.covered_fraction, 4), "config": config.to_dict()}
    if know.is_empty:
        logger.warning("%s: the teacher's predictions cover none of the knowledge points; nothing to distil",
                       shape.name)
        return _empty(n, c, {"distill": {**base, "empty": True}})
    result = align([know], names, config, regime="tta", device=segmenter.device)
    t2 = time.perf_counter()
    labels, probs = predict_shape(result.student, shape.xyz, shape.rgb, shape.normals, device=segmenter.device,
                                  seed=config.seed, shape_name=shape.name)
    t3 = time.perf_counter()
    instance = _instances(segmenter, prepared, predictions, labels)
    meta = {"distill": {
        **base,
        "backward_epoch": result.backward_epoch,
        "final_loss": result.log[-1]["loss"] if result.log else None,
        "seconds": {"knowledge": round(t1 - t0, 4), "align": round(t2 - t1, 4), "predict": round(t3 - t2, 4)},
    }}
    return MethodResult(labels, instance, probs, meta)
