"""PartDistill as registered methods (:mod:`partlift.methods`, METHODS §4).

* ``"partdistill"`` — a pre-aligned student (``method_options={"student": FILE}``, CLI
  ``--student FILE``; config :class:`PartdistillRun`) labels the shape with one forward pass; the
  teacher's predictions are not used for the labels (they feed the instance grouping).
* ``"partdistill-tta"`` — test-time alignment (config :class:`PartdistillTTARun`): a fresh
  student is aligned on the shape's own teacher knowledge (forward + backward distillation) and
  then labels it.
* ``"partdistill-pre-tta"`` — a variant of ``partdistill`` (``tta=True``): the pre-aligned
  student is aligned further on the shape's own teacher knowledge, with the settings it was
  pre-aligned with (TTA epochs), then labels it — pre-alignment followed by TTA (issue 16).

Options of ``partdistill-tta``: ``distill_config`` or ``preset`` (a
:class:`~partlift.distill.config.DistillConfig`, a dict of its fields, or a preset name; default
``"default"``), any DistillConfig field as an override, ``weights`` (a PartSTAD weight-net
checkpoint whose weights replace the teacher scores as confidences; beyond the paper).

Both label every point by the student (a point whose argmax is the "none" output gets -1).
PartDistill predicts semantics only; instances here come from PartSLIP's grouping (§2.5) applied
to the student's labels made per superpoint by majority (a point whose own label differs from its
superpoint's gets instance -1), so that the benchmark can report mAP50 for it too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from partlift.config import Settings
from partlift.distill.config import POOL_MODES, DistillConfig, config_from_dict, distill_preset
from partlift.errors import InputError
from partlift.methods import MethodContext
from partlift.types import MethodResult, Predictions, PreparedShape

__all__ = ["PartdistillRun", "PartdistillTTARun", "run_partdistill", "run_partdistill_tta", "method_config",
           "superpoint_majority"]

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


@dataclass(frozen=True)
class PartdistillRun(Settings):
    """Run settings of ``partdistill``.

    Attributes:
        student: the pre-aligned student checkpoint.
        pool: how the student labels the shape (``none`` / ``superpoints``,
            :data:`~partlift.distill.config.POOL_MODES`); None = the ``pool`` the student was
            aligned with (its checkpoint's settings; ``none`` for a checkpoint older than the
            option).
        tta: align the pre-aligned student further on the shape's own teacher knowledge before
            it labels the shape (``partdistill-pre-tta``); False = one forward pass.
    """

    student: Any = None
    pool: str | None = None
    tta: bool = False

    @classmethod
    def from_options(cls, options: Any, context: MethodContext | None = None) -> PartdistillRun:
        """From ``method_options`` (``student``, ``pool``); the other DistillConfig fields are
        accepted and ignored here — they are the settings of the student's pre-alignment
        (``partdistill-forward``). ``pool`` given explicitly overrides the checkpoint's."""
        del context  # the interface's; not needed here
        opts = dict(options or {})
        prep = set(DistillConfig.keys()) | {"preset", "distill_config"}
        cls.check_keys(set(opts) - prep, "partdistill options")
        pool = opts.get("pool")
        if pool is not None and pool not in POOL_MODES:
            raise InputError(f"partdistill options: pool must be one of {list(POOL_MODES)}, got {pool!r}")
        tta = opts.get("tta", False)
        if not isinstance(tta, bool):
            raise InputError(f"partdistill options: tta must be true or false, got {tta!r}")
        return cls(student=opts.get("student"), pool=pool, tta=tta)


@dataclass(frozen=True)
class PartdistillTTARun(Settings):
    """Run settings of ``partdistill-tta``.

    Attributes:
        distill_config: the alignment settings, seeded by the run.
        weights: optional PartSTAD weight-net checkpoint used as prediction confidences.
    """

    distill_config: DistillConfig = DistillConfig()
    weights: Any = None

    @classmethod
    def from_options(cls, options: Any, context: MethodContext | None = None) -> PartdistillTTARun:
        """From ``method_options``: ``distill_config``/``preset``, DistillConfig fields, ``weights``."""
        opts = dict(options or {})
        weights = opts.pop("weights", None)
        base = opts.pop("distill_config", opts.pop("preset", "default"))
        DistillConfig.check_keys(opts, "partdistill-tta options")
        seed = context.seed if context is not None else 0
        cfg = method_config({"distill_config": base}, seed).replace(**opts).replace(seed=int(seed))
        return cls(distill_config=cfg, weights=weights)


def superpoint_majority(labels: np.ndarray, superpoints: np.ndarray) -> np.ndarray:
    """(M,) int64 most frequent point label (-1 included) per superpoint; ties -> smaller label."""
    m = int(superpoints.max()) + 1 if superpoints.size else 0
    k = int(labels.max()) + 2 if labels.size else 1
    counts = np.zeros((m, k), np.int64)
    np.add.at(counts, (superpoints, labels + 1), 1)
    return counts.argmax(axis=1).astype(np.int64) - 1


def _instances(context: MethodContext, prepared: PreparedShape, predictions: Predictions,
               labels: np.ndarray) -> np.ndarray:
    from partlift.lifting.instances import group_instances

    n = labels.shape[0]
    if len(predictions) == 0 or not (labels >= 0).any():
        return np.full(n, -1, np.int64)
    sp = prepared.superpoints
    sp_labels = superpoint_majority(labels, sp)
    inst = group_instances(prepared.views, predictions, sp, sp_labels, prepared.shape.xyz, context.vote)
    inst = inst.copy()
    inst[labels != sp_labels[sp]] = -1
    return inst


def _empty(n: int, c: int, meta: dict[str, Any]) -> MethodResult:
    return MethodResult(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.zeros((n, c), np.float32), meta)


def run_partdistill(
    prepared: PreparedShape, predictions: Predictions, config: PartdistillRun, context: MethodContext
) -> MethodResult:
    """Label the shape with a pre-aligned student (``config.student``)."""
    from partlift.distill.align import load_student
    from partlift.distill.student import predict_shape

    path = config.student
    if not path:
        raise InputError(
            "method 'partdistill' needs a pre-aligned student: pass method_options={'student': FILE} "
            "(CLI: --student FILE; make one with `partlift distill`), or use --method partdistill-tta"
        )
    t0 = time.perf_counter()
    loaded = load_student(path, device=context.device, part_names=predictions.part_names)
    t1 = time.perf_counter()
    if config.tta:
        cfg = loaded.config.replace(seed=int(context.seed))
        if config.pool is not None:
            cfg = cfg.replace(pool=config.pool)
        result = _tta(prepared, predictions, cfg, context, init=loaded.student)
        result.meta["distill"].update({"student": str(path), "regime": "pre+tta",
                                       "category": loaded.meta.get("category"),
                                       "pre_teacher": loaded.meta.get("teacher")})
        result.meta["distill"].setdefault("seconds", {})["load"] = round(t1 - t0, 4)
        return result
    shape = prepared.shape
    pool = config.pool or loaded.config.pool
    labels, probs = predict_shape(loaded.student, shape.xyz, shape.rgb, shape.normals, device=context.device,
                                  seed=context.seed, shape_name=shape.name, superpoints=prepared.superpoints,
                                  pool=pool)
    t2 = time.perf_counter()
    trained_with = loaded.meta.get("teacher")
    if trained_with and trained_with != context.teacher:
        logger.info("student %s was distilled from %s; the run's teacher %s is used only for instances",
                    path, trained_with, context.teacher)
    instance = _instances(context, prepared, predictions, labels)
    meta = {"distill": {
        "student": str(path), "regime": "pre", "backbone": loaded.meta.get("backbone"),
        "category": loaded.meta.get("category"), "teacher": trained_with, "pool": pool,
        "seconds": {"load": round(t1 - t0, 4), "forward": round(t2 - t1, 4)},
    }}
    return MethodResult(labels, instance, probs, meta)


def run_partdistill_tta(
    prepared: PreparedShape, predictions: Predictions, run: PartdistillTTARun, context: MethodContext
) -> MethodResult:
    """Align a fresh student on this shape's teacher knowledge, then label it (TTA)."""
    return _tta(prepared, predictions, run.distill_config, context, weights=run.weights)


def _tta(prepared: PreparedShape, predictions: Predictions, config: DistillConfig, context: MethodContext,
         *, weights: Any = None, init: Any = None) -> MethodResult:
    """TTA on this shape (a fresh student, or one starting from ``init``'s weights), then label it."""
    from partlift.distill.align import align
    from partlift.distill.knowledge import build_knowledge, resolve_region, stad_confidences
    from partlift.distill.student import predict_shape

    names = tuple(predictions.part_names)
    shape = prepared.shape
    n, c = shape.n_points, len(names)
    t0 = time.perf_counter()
    conf = None
    if weights:
        conf = stad_confidences(weights, predictions, prepared.views, teacher=context.teacher,
                                device=context.device)
        config = config.replace(confidence="weights")
    region = resolve_region(config.region, context.teacher_kind, predictions)
    know = build_knowledge(shape, prepared.views, predictions, config, region=region, confidences=conf)
    t1 = time.perf_counter()
    base = {"regime": "tta", "region": region, "confidence": config.confidence, "n_pairs": know.n_pairs,
            "covered_fraction": round(know.covered_fraction, 4), "config": config.to_dict()}
    if know.is_empty:
        logger.warning("%s: the teacher's predictions cover none of the knowledge points; nothing to distil",
                       shape.name)
        return _empty(n, c, {"distill": {**base, "empty": True}})
    sp = prepared.superpoints
    result = align([know], names, config, regime="tta", device=context.device,
                   superpoints=None if sp is None else [sp[know.point_index]], init=init)
    t2 = time.perf_counter()
    labels, probs = predict_shape(result.student, shape.xyz, shape.rgb, shape.normals, device=context.device,
                                  seed=config.seed, shape_name=shape.name, superpoints=sp)
    t3 = time.perf_counter()
    instance = _instances(context, prepared, predictions, labels)
    meta = {"distill": {
        **base,
        "backward_epoch": result.backward_epoch,
        "final_loss": result.log[-1]["loss"] if result.log else None,
        "seconds": {"knowledge": round(t1 - t0, 4), "align": round(t2 - t1, 4), "predict": round(t3 - t2, 4)},
    }}
    return MethodResult(labels, instance, probs, meta)
