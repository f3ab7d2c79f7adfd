"""Teacher knowledge of one shape (METHODS §4.2, §6 "PartDistill teacher knowledge").

For point p and prediction d, ``K[p, d] = κ_d`` if p is visible in d's view and inside d's region
(box for box teachers, per-part region for pixel teachers), else 0. PartDistill keeps K per
point, with no voting: the student resolves conflicts. Here K is restricted to
``knowledge_points`` points drawn once per shape (seeded; METHODS §4.3 draws the student's 2048
points once) and stored sparse, one row per covered (point, prediction) pair, with the
prediction classes and confidences alongside (the released ``preprocess.h5`` holds the same
information densely as ``conf_bbox``/``cls_bbox``).

Frames: ``xyz`` is in the student frame (bbox centre, unit sphere); ``point_index`` indexes the
shape's points, which are also the prepared (centroid-frame) shape's points the coverage was
computed on, so both sides agree on every index.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from partlift import atomic
from partlift.distill.config import DistillConfig
from partlift.distill.student import point_inputs, student_frame, subsample
from partlift.errors import InputError
from partlift.keys import seed_of
from partlift.types import Predictions, Shape, Views

__all__ = [
    "ShapeKnowledge",
    "resolve_region",
    "build_knowledge",
    "knowledge_seed",
    "render_for_teacher",
    "stad_confidences",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the ``.npz`` layout written by :meth:`ShapeKnowledge.save`."""


@dataclass(frozen=True, eq=False)
class ShapeKnowledge:
    """Sparse teacher knowledge of one shape on its knowledge points.

    Attributes:
        name: the shape's name.
        xyz: (M, 3) float32 knowledge points in the student frame.
        inputs: (M, in_dim) float32 student inputs of those points (xyz, rgb?, normals?).
        point_index: (M,) int64 index of each knowledge point in the shape (may repeat when the
            shape has fewer than M points: tiled, METHODS §4.3).
        pred_class: (D,) int64 class of every teacher prediction: a part index in [0, C), or
            C for the null pseudo-predictions (``with_null``; one per view, last in order).
        pred_conf: (D,) float32 confidence κ_d of every prediction (teacher score or weight).
        pair_point: (P,) int64 covered knowledge point of each pair, in [0, M).
        pair_pred: (P,) int64 prediction of each pair, in [0, D); pairs sorted by point.
        part_names: the part names classes index.
        teacher: the teacher's name.
        with_null: True when the last ``n_views`` predictions are null pseudo-predictions
            (``DistillConfig.null_class``); the student then has C + 1 outputs.
        semantic: (M,) int64 ground-truth labels of the knowledge points when the shape had
            them (-1 = none), else None. Kept for evaluation tables only: alignment, model
            selection and re-scoring never read it.
        meta: region, confidence source, counts.
    """

    name: str
    xyz: np.ndarray
    inputs: np.ndarray
    point_index: np.ndarray
    pred_class: np.ndarray
    pred_conf: np.ndarray
    pair_point: np.ndarray
    pair_pred: np.ndarray
    part_names: tuple[str, ...]
    teacher: str = ""
    with_null: bool = False
    semantic: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = self.xyz.shape[0]
        if self.xyz.shape != (m, 3) or self.inputs.shape[0] != m or self.point_index.shape != (m,):
            raise InputError(f"ShapeKnowledge({self.name!r}): xyz, inputs and point_index must have M rows")
        d = self.pred_class.shape[0]
        if self.pred_conf.shape != (d,):
            raise InputError(f"ShapeKnowledge({self.name!r}): pred_conf must have D = {d} entries")
        if self.pair_point.shape != self.pair_pred.shape:
            raise InputError(f"ShapeKnowledge({self.name!r}): pair_point and pair_pred differ in length")
        if self.pair_point.size and (
            self.pair_point.min() < 0 or self.pair_point.max() >= m
            or self.pair_pred.min() < 0 or self.pair_pred.max() >= d
        ):
            raise InputError(f"ShapeKnowledge({self.name!r}): pair indices out of range")
        if d and (self.pred_class.min() < 0 or self.pred_class.max() >= self.n_classes):
            raise InputError(f"ShapeKnowledge({self.name!r}): prediction classes out of range")

    @property
    def n_classes(self) -> int:
        """Student outputs: C parts, plus one "none" output when ``with_null``."""
        return len(self.part_names) + int(self.with_null)

    @property
    def n_points(self) -> int:
        """M, the number of knowledge points."""
        return int(self.xyz.shape[0])

    @property
    def n_predictions(self) -> int:
        return int(self.pred_class.shape[0])

    @property
    def n_pairs(self) -> int:
        return int(self.pair_point.shape[0])

    @property
    def part_pairs(self) -> np.ndarray:
        """(P,) bool: the pair comes from a real teacher prediction (not a null pseudo-prediction)."""
        return self.pred_class[self.pair_pred] < len(self.part_names)

    @property
    def is_empty(self) -> bool:
        """True when no knowledge point is covered by any teacher prediction (null
        pseudo-predictions do not count): the teacher found nothing to distil."""
        return not bool(self.part_pairs.any())

    @property
    def covered_fraction(self) -> float:
        """Fraction of the knowledge points covered by at least one teacher prediction."""
        if not self.n_points:
            return 0.0
        return float(np.unique(self.pair_point[self.part_pairs]).size / self.n_points)

    def save(self, path: str | os.PathLike) -> Path:
        """Write as a compressed ``.npz`` atomically."""
        import json

        path = Path(path)
        arrays = {
            "xyz": self.xyz, "inputs": self.inputs, "point_index": self.point_index,
            "pred_class": self.pred_class, "pred_conf": self.pred_conf,
            "pair_point": self.pair_point, "pair_pred": self.pair_pred,
        }
        if self.semantic is not None:
            arrays["semantic"] = self.semantic
        header = {"format_version": FORMAT_VERSION, "name": self.name, "part_names": list(self.part_names),
                  "teacher": self.teacher, "with_null": self.with_null, "meta": self.meta}
        with atomic.replacing(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, header=np.array(json.dumps(header)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ShapeKnowledge:
        """Read a file written by :meth:`save`; raises InputError on another format."""
        import json

        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                arrays = {k: z[k] for k in z.files if k != "header"}
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: not a readable knowledge file ({exc})") from None
        if header.get("format_version") != FORMAT_VERSION:
            raise InputError(f"{path}: knowledge format {header.get('format_version')}, expected {FORMAT_VERSION}")
        return cls(
            name=header["name"], part_names=tuple(header["part_names"]), teacher=header["teacher"],
            with_null=bool(header["with_null"]), meta=header["meta"], semantic=arrays.pop("semantic", None), **arrays,
        )


def resolve_region(region: str, teacher_kind: str | None, preds: Predictions) -> str:
    """The region ("box" or "mask") to lift ``preds`` with, for config value ``region``.

    ``auto``: masks for pixel teachers (P-VLM: per-part regions), boxes otherwise (B-VLM).
    """
    if region == "auto":
        region = "mask" if teacher_kind == "pixel" else "box"
    if region == "mask" and preds.masks is None:
        raise InputError(
            f"distill: region 'mask' needs a teacher that gives masks or pixel regions, but "
            f"{preds.teacher or 'the teacher'} gave boxes only; use region 'box' or e.g. "
            "teacher 'simulated:zeroshot' with mode 'pixel', or 'clipseg'"
        )
    return region


def knowledge_seed(seed: int, name: str, n_points: int) -> np.random.Generator:
    """The generator of a shape's knowledge sub-sample: from (seed, shape name, point count)."""
    return np.random.default_rng([int(seed), seed_of(f"{name}|{n_points}")])


def build_knowledge(
    shape: Shape,
    views: Views,
    preds: Predictions,
    config: DistillConfig,
    *,
    region: str = "box",
    confidences: np.ndarray | None = None,
) -> ShapeKnowledge:
    """Lift ``preds`` to ``shape``'s points and keep them on ``config.knowledge_points`` points.

    Args:
        shape: the shape ``views`` were rendered from (any frame; the student frame is derived
            from its points); its rgb / normals feed the student when the config asks.
        views: its rendering (N points).
        preds: the teacher's D predictions on ``views``.
        region: ``"box"`` or ``"mask"`` (see :func:`resolve_region`).
        confidences: (D,) float per-prediction confidence replacing the teacher scores (e.g.
            from :func:`stad_confidences`), or None for the scores.

    Returns:
        :class:`ShapeKnowledge`; ``is_empty`` when nothing is covered. Predictions with
        confidence <= 0 give no pairs (the released mask ``conf > 0``). With
        ``config.null_class``, one null pseudo-prediction per view (class C, confidence
        ``config.null_weight``) covers the knowledge points visible in that view that no
        prediction of the view covers.
    """
    from partlift.lifting.coverage import coverage

    if not isinstance(shape, Shape):
        raise InputError(f"build_knowledge: expected a partlift Shape, got {type(shape).__name__}")
    if views.n_points != shape.n_points:
        raise InputError(
            f"build_knowledge: the views have {views.n_points} points but {shape.name!r} has "
            f"{shape.n_points}; pass the views rendered from this shape"
        )
    conf = preds.score.astype(np.float32) if confidences is None else np.asarray(confidences, np.float32)
    if conf.shape != (len(preds),):
        raise InputError(f"build_knowledge: expected {len(preds)} confidences, got shape {conf.shape}")
    if not np.isfinite(conf).all():
        raise InputError("build_knowledge: confidences must be finite")
    m = config.knowledge_points
    idx = subsample(shape.n_points, m, knowledge_seed(config.seed, shape.name, shape.n_points))
    xyz_s = student_frame(shape.xyz)
    inputs = point_inputs(xyz_s, shape.rgb, shape.normals, config, shape_name=shape.name)[idx]
    d = len(preds)
    pred_class = preds.label.astype(np.int64)
    if d:
        cov = coverage(views, preds, region=region).matrix
        sub = cov.tocsc()[:, idx].tocoo()  # (D, M)
        keep = conf[sub.row] > 0
        pred_of, point_of = sub.row[keep].astype(np.int64), sub.col[keep].astype(np.int64)
    else:
        pred_of = point_of = np.zeros(0, np.int64)
    if config.null_class and views.n_views:
        v = views.n_views
        covered = np.zeros((v, len(idx)), bool)
        covered[preds.view[pred_of], point_of] = True
        nv, npnt = np.nonzero(views.visible[:, idx] & ~covered)
        pred_of = np.concatenate([pred_of, d + nv])
        point_of = np.concatenate([point_of, npnt])
        pred_class = np.concatenate([pred_class, np.full(v, len(preds.part_names), np.int64)])
        conf = np.concatenate([conf, np.full(v, config.null_weight, np.float32)])
    order = np.lexsort((pred_of, point_of))
    pair_point, pair_pred = point_of[order].astype(np.int64), pred_of[order].astype(np.int64)
    sem = None if shape.semantic is None else shape.semantic[idx].astype(np.int64)
    know = ShapeKnowledge(
        name=shape.name,
        xyz=xyz_s[idx],
        inputs=inputs.astype(np.float32),
        point_index=idx,
        pred_class=pred_class,
        pred_conf=conf.astype(np.float32),
        pair_point=pair_point,
        pair_pred=pair_pred,
        part_names=tuple(preds.part_names),
        teacher=preds.teacher,
        with_null=bool(config.null_class),
        semantic=sem,
        meta={"region": region, "confidence": "score" if confidences is None else "weights",
              "n_shape_points": shape.n_points},
    )
    know.meta["covered_fraction"] = round(know.covered_fraction, 4)
    return know


def render_for_teacher(shape: Shape, render_config: Any, device: str = "cpu") -> tuple[Shape, Views]:
    """The one per-shape preparation (:func:`partlift.prepare.prepare_shape`) without superpoints,
    keeping the shape's own normals (``normals="given"``): centroid unit sphere, normals, render
    (METHODS §1.1–1.2). Returns ``(normalised shape, views)``."""
    from partlift.prepare import prepare_shape

    prepared = prepare_shape(shape, render_config, superpoints=False, normals="given", device=device)
    return prepared.shape, prepared.views


def stad_confidences(
    weights_path: str | os.PathLike, preds: Predictions, views: Views, *, teacher: str,
    device: str = "cpu",
) -> np.ndarray:
    """(D,) float32 per-prediction confidences from a fitted PartSTAD weight net (beyond the paper).

    The weight net gives each prediction a positive weight ``w_d`` (METHODS §3.3); the
    confidence is ``w_d / max_d' w_d'`` over the shape's predictions (PartSTAD weights are
    relative: only their ratios and their ratio to the null score matter), 0 when all are 0.

    Raises:
        CheckpointError: the weights were fitted for another teacher or part list.
    """
    import torch

    from partlift.stad.encoding import prediction_inputs
    from partlift.stad.fit import check_compatible, load_checkpoint

    ckpt = load_checkpoint(weights_path, device=device)
    check_compatible(ckpt, teacher=teacher, part_names=preds.part_names, feature_dim=preds.feature_dim,
                     source=f"PartSTAD weights {weights_path}")
    if not len(preds):
        return np.zeros(0, np.float32)
    with torch.no_grad():
        w = ckpt.model.weights(prediction_inputs(preds, views.cameras, ckpt.config).to(device))
    w = w.cpu().numpy().astype(np.float64)
    top = w.max(initial=0.0)
    return (w / top).astype(np.float32) if top > 0 else np.zeros_like(w, np.float32)


def confidence_function(weights: str | os.PathLike | None, teacher: str, device: str = "cpu"
                        ) -> Callable[[Predictions, Views], np.ndarray | None]:
    """``fn(preds, views) -> confidences or None`` for the ``--weights`` option (None = scores)."""
    if weights is None:
        return lambda preds, views: None  # noqa: ARG005
    return lambda preds, views: stad_confidences(weights, preds, views, teacher=teacher, device=device)


def summarize(knowledge: Sequence[ShapeKnowledge]) -> dict[str, Any]:
    """Counts over a collection's knowledge for logs."""
    return {
        "n_shapes": len(knowledge),
        "mean_predictions": float(np.mean([k.n_predictions for k in knowledge])) if knowledge else 0.0,
        "mean_covered_fraction": float(np.mean([k.covered_fraction for k in knowledge])) if knowledge else 0.0,
    }
