"""The :class:`Segmenter`: a shape in, named parts out (DESIGN §2).

The expensive per-shape work — normalisation, normals, the multi-view render and the superpoints
— is done once per shape and cached in the object (like segment-anything's ``set_image``);
teacher predictions are cached per (shape, part list). Many part lists or methods then run on one
shape cheaply::

    shape = load_shape("chair.ply")
    seg = Segmenter(teacher="simulated:oracle")
    labels = seg.predict(shape, parts=["arm", "back", "leg", "seat", "wheel"])
    labels.save("out/")

Methods are looked up by name in :data:`METHODS` (``"module:function"``, imported on use); each
takes the prepared shape and the teacher's predictions and returns a :class:`MethodResult` on
the prepared (unit-sphere) points, which the segmenter maps back to the input's own points and,
for mesh inputs, to its faces.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from partlift.config import RenderConfig, render_preset, to_dict
from partlift.errors import InputError
from partlift.subsample import cap_points, carry_labels
from partlift.teachers.base import check_part_names
from partlift.types import PartLabels, Predictions, Shape, Views

log = logging.getLogger(__name__)

# method name -> "module:function" with signature fn(segmenter, prepared, predictions) -> MethodResult
METHODS: dict[str, str] = {
    "partslip": "partlift.lifting.method:run_partslip",
    "partstad": "partlift.stad.method:run_partstad",
    "partdistill": "partlift.distill.method:run_partdistill",
    "partdistill-tta": "partlift.distill.method:run_partdistill_tta",
}


def list_methods() -> list[str]:
    """Names of the segmentation methods, sorted."""
    return sorted(METHODS)


def get_method(name: str) -> Callable[..., MethodResult]:
    """The method function registered as ``name``; raises with the valid names when unknown."""
    try:
        module, func = METHODS[name].split(":")
    except KeyError:
        raise InputError(f"unknown method {name!r}; choose one of {list_methods()}") from None
    return getattr(importlib.import_module(module), func)


@dataclass(frozen=True, eq=False)
class PreparedShape:
    """Per-shape work shared by every part list and method.

    Attributes:
        key: content hash of the input shape and the preparation settings.
        source: the shape as given (its own frame).
        shape: the same points in the unit-sphere frame (METHODS §1.1), with normals.
        views: the multi-view render of ``shape``.
        superpoints: (N,) int64 superpoint id per point.
        timings: seconds per preparation stage.
    """

    key: str
    source: Shape
    shape: Shape
    views: Views
    superpoints: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MethodResult:
    """A method's output on the prepared points: (N,) semantic, (N,) instance, (N, C) scores."""

    semantic: np.ndarray
    instance: np.ndarray
    scores: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def validate_parts(parts: Sequence[str] | None, shape: Shape | None = None) -> tuple[str, ...]:
    """Check a user's part list; default to the shape's own part names when ``parts`` is None."""
    if parts is None:
        if shape is not None and shape.part_names:
            return tuple(shape.part_names)
        raise InputError(
            "no part names given and the shape has none; pass parts, e.g. ['seat', 'back', 'leg']"
        )
    if isinstance(parts, str):
        parts = [p for p in parts.replace(",", " ").split() if p]
    names = tuple(str(p).strip() for p in parts)
    if not names:
        raise InputError("expected at least one part name, got an empty list")
    if any(not n for n in names):
        raise InputError(f"part names must be non-empty strings, got {list(names)}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"part names must be unique, got duplicates {dup}")
    return names


def shape_key(shape: Shape) -> str:
    """A content hash of a shape's points and colours (hex sha256)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(shape.xyz, dtype=np.float32).tobytes())
    if shape.rgb is not None:
        h.update(np.ascontiguousarray(shape.rgb, dtype=np.float32).tobytes())
    return h.hexdigest()


class Segmenter:
    """Segments shapes into named parts with a teacher and a method.

    Args:
        teacher: a teacher name for :func:`partlift.teachers.registry.build_teacher`
            (``"simulated"``, ``"simulated:oracle"``, ``"grounding-dino+sam"``, ...) or a built
            teacher object.
        method: one of :func:`list_methods` (``"partslip"`` first; PartSTAD and PartDistill
            methods register themselves in :data:`METHODS`).
        preset: render preset name (``"partslip"``, ``"fast"``, ``"tiny"``) or a RenderConfig.
        device: torch device for the renderer and any network, e.g. ``"cpu"`` or ``"cuda"``.
        seed: seed for every random choice (teacher noise, training).
        superpoint_config: settings of :func:`partlift.superpoints.compute_superpoints`.
        vote_config: settings of PartSLIP voting (:class:`partlift.lifting.voting.VoteConfig`).
        teacher_options: keyword options passed to the teacher builder.
        method_options: keyword options of the method (e.g. ``weights=`` for PartSTAD).
        cache_size: how many prepared shapes to keep in memory.
    """

    def __init__(
        self,
        teacher: Any = "simulated",
        method: str = "partslip",
        preset: str | RenderConfig = "partslip",
        *,
        device: str = "cpu",
        seed: int = 0,
        superpoint_config: Any = None,
        vote_config: Any = None,
        teacher_options: dict[str, Any] | None = None,
        method_options: dict[str, Any] | None = None,
        cache_size: int = 4,
    ) -> None:
        from partlift.lifting.voting import VoteConfig
        from partlift.superpoints import SuperpointConfig
        from partlift.teachers.registry import build_teacher

        get_method(method)  # validate early
        self.method = method
        self.render_config = render_preset(preset) if isinstance(preset, str) else preset
        if not isinstance(self.render_config, RenderConfig):
            raise InputError(f"preset: expected a preset name or RenderConfig, got {type(preset).__name__}")
        self.device = str(device)
        self.seed = int(seed)
        self.superpoint_config = superpoint_config or SuperpointConfig(seed=self.seed)
        self.vote_config = vote_config or VoteConfig()
        options = dict(teacher_options or {})
        self.teacher = build_teacher(teacher, **options) if isinstance(teacher, str) else teacher
        self.method_options = dict(method_options or {})
        self._cache_size = max(1, int(cache_size))
        self._prepared: OrderedDict[str, PreparedShape] = OrderedDict()
        self._predictions: OrderedDict[tuple[str, tuple[str, ...]], Predictions] = OrderedDict()

    # -- per-shape work -------------------------------------------------------------------------

    def prepare(self, shape: Shape) -> PreparedShape:
        """Normalise, estimate normals, render and over-segment ``shape`` (cached by content)."""
        from partlift.geometry import ensure_normals, normalize
        from partlift.render import render
        from partlift.superpoints import superpoints_for_shape

        if not isinstance(shape, Shape):
            raise InputError(f"expected a partlift Shape (see partlift.load_shape), got {type(shape).__name__}")
        key = hashlib.sha256(
            (shape_key(shape) + repr(to_dict(self.render_config)) + repr(self.superpoint_config)).encode()
        ).hexdigest()
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        timings: dict[str, float] = {}
        t = time.perf_counter()
        shape = cap_points(shape, seed=self.seed)  # huge inputs: a capped subset (issue 13 item 4)
        given = normalize(shape)
        # METHODS §1.4 step 1: superpoints use normals estimated from the cloud (kNN PCA, as
        # PartSLIP's Open3D call), also when the input carries its own (e.g. mesh face normals),
        # so that a mesh and its sampled cloud get the same over-segmentation. Given normals are
        # kept for shading uncoloured renders.
        norm = ensure_normals(given.replace(normals=None), workers=-1)
        timings["normalize"] = time.perf_counter() - t
        t = time.perf_counter()
        views = render(given if given.normals is not None else norm, self.render_config, device=self.device)
        timings["render"] = time.perf_counter() - t
        t = time.perf_counter()
        sp = superpoints_for_shape(norm, self.superpoint_config)
        timings["superpoints"] = time.perf_counter() - t
        log.info("prepared %s: %d points, %d superpoints (%.2fs)", shape.name, norm.n_points,
                 int(sp.max()) + 1, sum(timings.values()))
        prepared = PreparedShape(key, shape, norm, views, sp, timings)
        self._prepared[key] = prepared
        while len(self._prepared) > self._cache_size:
            self._prepared.popitem(last=False)
        return prepared

    def predictions(self, shape: Shape, parts: Sequence[str] | None = None) -> Predictions:
        """The teacher's 2D predictions for ``shape`` and ``parts`` (cached)."""
        names = validate_parts(parts, shape)
        prepared = self.prepare(shape)
        return self._predict(prepared, names)

    def _predict(self, prepared: PreparedShape, names: tuple[str, ...]) -> Predictions:
        pkey = (prepared.key, names)
        if pkey not in self._predictions:
            check_part_names(self.teacher, names, prepared.source)  # issue 13 item 6
            t = time.perf_counter()
            preds = self.teacher.predict(prepared.views, names, prepared.shape)
            log.info("teacher %s: %d predictions in %.2fs", self.teacher.name, len(preds),
                     time.perf_counter() - t)
            self._predictions[pkey] = preds
            while len(self._predictions) > 4 * self._cache_size:
                self._predictions.popitem(last=False)
        return self._predictions[pkey]

    # -- segmentation ---------------------------------------------------------------------------

    def segment(
        self, shape: Shape, parts: Sequence[str] | None = None, *, method: str | None = None
    ) -> PartLabels:
        """Segment ``shape`` into ``parts`` (default: the shape's own part names).

        Returns labels on the input's own points (and faces for mesh inputs). A teacher that
        finds nothing gives a documented empty result: every point -1, ``meta["n_predictions"] == 0``.
        """
        names = validate_parts(parts, shape)
        method = method or self.method
        fn = get_method(method)
        t0 = time.perf_counter()
        prepared = self.prepare(shape)
        t1 = time.perf_counter()
        preds = self._predict(prepared, names)
        t2 = time.perf_counter()
        if len(preds) == 0:
            log.warning("%s: the teacher %s found no part of %s", shape.name, self.teacher.name, list(names))
        result = fn(self, prepared, preds)
        t3 = time.perf_counter()
        return carry_labels(self._finish(prepared, names, preds, result, method,
                                         {"prepare": t1 - t0, "teacher": t2 - t1, "method": t3 - t2,
                                          **{f"prepare.{k}": v for k, v in prepared.timings.items()}}),
                            shape, prepared.source)

    predict = segment  # STYLE §1: ``seg.predict(shape, parts=[...])``

    def _finish(
        self,
        prepared: PreparedShape,
        names: tuple[str, ...],
        preds: Predictions,
        result: MethodResult,
        method: str,
        timings: dict[str, float],
    ) -> PartLabels:
        from partlift.transfer import points_to_faces

        src = prepared.source
        face_sem = face_ins = None
        if src.mesh is not None and src.face_index is not None:
            centers = np.asarray(src.mesh.triangles_center, dtype=np.float64)
            n_faces = len(src.mesh.faces)
            face_sem = points_to_faces(src.face_index, result.semantic, n_faces, centers, src.xyz)
            face_ins = points_to_faces(src.face_index, result.instance, n_faces, centers, src.xyz)
        meta = {
            "method": method,
            "teacher": self.teacher.name,
            "parts": list(names),
            "n_points": src.n_points,
            "n_superpoints": int(prepared.superpoints.max()) + 1,
            "n_predictions": len(preds),
            "render": to_dict(self.render_config),
            "seed": self.seed,
            "device": self.device,
            "timings": {k: round(v, 4) for k, v in timings.items()},
            **result.meta,
        }
        return PartLabels(
            semantic=result.semantic.astype(np.int64),
            instance=result.instance.astype(np.int64),
            part_names=names,
            scores=result.scores.astype(np.float32),
            face_semantic=face_sem,
            face_instance=face_ins,
            xyz=src.xyz,
            rgb=src.rgb,
            mesh=src.mesh,
            meta=meta,
        )
