"""The :class:`Segmenter`: a shape in, named parts out (DESIGN §2).

The expensive per-shape work — normalisation, normals, the multi-view render and the superpoints
— is done once per shape and cached in the object (like segment-anything's ``set_image``);
teacher predictions are cached per (shape, part list). Many part lists or methods then run on one
shape cheaply::

    shape = load_shape("chair.ply")
    seg = Segmenter(teacher="simulated:oracle")
    labels = seg.predict(shape, parts=["arm", "back", "leg", "seat", "wheel"])
    labels.save("out/")

Methods are looked up by name in the method registry (:mod:`partlift.methods`); each takes the
prepared shape, the teacher's predictions, its typed config and a small
:class:`~partlift.methods.MethodContext` and returns a :class:`~partlift.types.MethodResult` on
the prepared (unit-sphere) points, which the segmenter maps back to the input's own points and,
for mesh inputs, to its faces. Teacher predictions are also kept on disk
(:class:`~partlift.teachers.cache.PredictionCache`, on by default; ``cache_dir=None`` switches it
off).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from partlift.config import RenderConfig, render_preset, to_dict
from partlift.errors import InputError
from partlift.keys import shape_key
from partlift.methods import MethodContext, get_method, list_methods, method_config, run_method
from partlift.names import validate_parts
from partlift.part_labels import PartLabels
from partlift.subsample import cap_points, carry_labels
from partlift.teachers.base import check_part_names
from partlift.types import MethodResult, Predictions, PreparedShape, Shape

__all__ = ["Segmenter", "PreparedShape", "MethodResult", "list_methods", "validate_parts", "shape_key"]

log = logging.getLogger(__name__)

DEFAULT_CACHE = "default"
"""``Segmenter(cache_dir=DEFAULT_CACHE)``: the prediction cache under
:func:`partlift.teachers.cache.default_cache_root` (``$PARTLIFT_CACHE_DIR``, else the user's
cache folder)."""


def with_category(shape: Any, category: str | None) -> Any:
    """``shape`` with its ``category`` set to ``category`` (unchanged when None or equal)."""
    if category is None or not isinstance(shape, Shape) or shape.category == category:
        return shape
    if not isinstance(category, str) or not category.strip():
        raise InputError(f"category: expected a category name such as 'KitchenPot', got {category!r}")
    return shape.replace(category=category.strip())


class Segmenter:
    """Segments shapes into named parts with a teacher and a method.

    Args:
        teacher: a teacher name for :func:`partlift.teachers.registry.build_teacher`
            (``"simulated"``, ``"simulated:oracle"``, ``"grounding-dino+sam"``, ...) or a built
            teacher object.
        method: one of :func:`partlift.methods.list_methods` (the method registry).
        preset: render preset name (``"partslip"``, ``"fast"``, ``"tiny"``) or a RenderConfig.
        device: torch device for the renderer and any network, e.g. ``"cpu"`` or ``"cuda"``.
        seed: seed for every random choice (teacher noise, training).
        superpoint_config: settings of :func:`partlift.superpoints.compute_superpoints`.
        vote_config: settings of PartSLIP voting (:class:`partlift.lifting.voting.VoteConfig`);
            every method groups instances with them.
        teacher_options: keyword options passed to the teacher builder.
        method_options: options of the method, its typed config's fields (e.g. ``weights=`` for
            PartSTAD, ``region=`` for PartSLIP); unknown keys are an error naming the valid ones.
        cache_size: how many prepared shapes to keep in memory.
        cache_dir: folder of the on-disk prediction cache; ``"default"`` = ``$PARTLIFT_CACHE_DIR``
            or the user's cache folder; None switches it off.
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
        cache_dir: str | os.PathLike[str] | None = DEFAULT_CACHE,
    ) -> None:
        from partlift.lifting.config import VoteConfig
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
        self._predictions: OrderedDict[tuple[str, tuple[str, ...], str | None], Predictions] = OrderedDict()
        self.cache = None
        if cache_dir is not None:
            from partlift.teachers.cache import PredictionCache

            self.cache = PredictionCache(None if cache_dir == DEFAULT_CACHE else cache_dir)

    def context(self) -> MethodContext:
        """What a method may know about this segmenter's run (device, seed, teacher, vote)."""
        return MethodContext(device=self.device, seed=self.seed, teacher=str(self.teacher.name),
                             teacher_kind=getattr(self.teacher, "kind", None), vote=self.vote_config)

    # -- per-shape work -------------------------------------------------------------------------

    def prepare(self, shape: Shape, *, on_views: Any = None) -> PreparedShape:
        """Normalise, estimate normals, render and over-segment ``shape`` (cached by content);
        see :func:`partlift.prepare.prepare_shape`. ``on_views(unit_shape, views)`` is called
        there as soon as the views exist -- only when the shape is prepared now, not when it
        comes from the cache."""
        from partlift.prepare import preparation_key, prepare_shape

        if not isinstance(shape, Shape):
            raise InputError(f"expected a partlift Shape (see partlift.load_shape), got {type(shape).__name__}")
        key = preparation_key(shape, self.render_config, self.superpoint_config)
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        shape = cap_points(shape, seed=self.seed)  # huge inputs: a capped subset (issue 13 item 4)
        prepared = prepare_shape(shape, self.render_config, superpoint_config=self.superpoint_config,
                                 device=self.device, on_views=on_views)
        self._prepared[key] = prepared
        while len(self._prepared) > self._cache_size:
            self._prepared.popitem(last=False)
        return prepared

    def predictions(self, shape: Shape, parts: Sequence[str] | None = None, *,
                    category: str | None = None) -> Predictions:
        """The teacher's 2D predictions for ``shape`` and ``parts`` (cached); ``category``
        overrides ``shape.category`` (the learned teacher is conditioned on it)."""
        shape = with_category(shape, category)
        names = validate_parts(parts, shape)
        prepared = self.prepare(shape)
        return self._predict(prepared, names, shape.category)

    def predictions_for(self, prepared: PreparedShape, names: Sequence[str]) -> Predictions:
        """The teacher's predictions on an already prepared shape for part ``names`` (cached);
        the interface PartSTAD's :func:`partlift.stad.fit.prepare_shapes` shares with
        :class:`partlift.prepare.Preparation`. The category is the prepared shape's own (a
        category-conditioned teacher, the learned one, needs it)."""
        return self._predict(prepared, tuple(names), prepared.shape.category or prepared.source.category)

    def predict_views(self, shape: Shape, views: Any, names: Sequence[str]) -> Predictions:
        """The teacher's predictions on ``views`` of the unit-sphere ``shape``, through the
        on-disk prediction cache (when on). ``views`` must be rendered with this segmenter's
        render settings from ``shape``."""
        from partlift.prepare import predict_cached

        return predict_cached(self.teacher, shape, views, names, self.render_config, self.cache)

    def _predict(self, prepared: PreparedShape, names: tuple[str, ...], category: str | None = None) -> Predictions:
        # The prepared shape is cached by content: the category of this call is set on it here.
        pkey = (prepared.key, names, category)
        if pkey not in self._predictions:
            self._keep(pkey, self._teacher_on(prepared.shape, prepared.views, names, category))
        return self._predictions[pkey]

    def _teacher_on(self, unit: Shape, views: Any, names: tuple[str, ...], category: str | None) -> Predictions:
        """The teacher's predictions on ``views`` of the unit-sphere ``unit`` with ``category`` set."""
        shape = unit if unit.category == category else unit.replace(category=category)
        check_part_names(self.teacher, names, shape)  # issue 13 item 6
        return self.predict_views(shape, views, names)

    def _keep(self, pkey: tuple[str, tuple[str, ...], str | None], preds: Predictions) -> None:
        self._predictions[pkey] = preds
        while len(self._predictions) > 4 * self._cache_size:
            self._predictions.popitem(last=False)

    def prepare_and_predict(self, shape: Shape, parts: Sequence[str] | None = None, *, category: str | None = None,
                            ) -> tuple[PreparedShape, Predictions, dict[str, float]]:
        """:meth:`prepare` and the teacher's predictions, the teacher started as soon as the views
        exist: while the superpoints are still being computed beside the render (issue 17; the
        simulated teacher on a 100k-point chair, 2 cores: superpoints then teacher 0.79 s, side
        by side 0.55 s, ``benchmarks/teacher_overlap.py``). The same predictions as
        :meth:`predictions` (``parts`` and ``category`` as there). A teacher error is raised by
        a second, ordinary call once the preparation is cached, so nothing prepared is lost.

        Returns:
            ``(prepared, predictions, timings)``: "prepare" the wall seconds of the preparation,
            the teacher's run included when it ran inside it; "teacher" the teacher's own seconds
            (inside "prepare" when it overlapped, after it otherwise); "prepare_and_teacher" the
            wall seconds of both (not their sum when they overlapped).
        """
        shape = with_category(shape, category)
        names = validate_parts(parts, shape)
        early: dict[str, Any] = {}

        def teacher_now(unit: Shape, views: Any) -> None:
            t = time.perf_counter()
            try:
                early["preds"] = self._teacher_on(unit, views, names, shape.category)
            except Exception:  # raised again by the ordinary call below
                log.debug("%s: the early teacher call failed; calling it again after the preparation",
                          shape.name, exc_info=True)
            early["seconds"] = time.perf_counter() - t

        t0 = time.perf_counter()
        prepared = self.prepare(shape, on_views=teacher_now)
        t1 = time.perf_counter()
        if "preds" in early:
            self._keep((prepared.key, names, shape.category), early["preds"])
        preds = self._predict(prepared, names, shape.category)
        t2 = time.perf_counter()
        return prepared, preds, {"prepare": t1 - t0, "teacher": early.get("seconds", 0.0) + (t2 - t1),
                                 "prepare_and_teacher": t2 - t0}

    # -- segmentation ---------------------------------------------------------------------------

    def segment(
        self,
        shape: Shape,
        parts: Sequence[str] | None = None,
        *,
        method: str | None = None,
        options: dict[str, Any] | None = None,
        category: str | None = None,
    ) -> PartLabels:
        """Segment ``shape`` into ``parts`` (default: the shape's own part names).

        ``method`` and ``options`` (the method's options) default to the segmenter's own
        ``method`` and ``method_options``; ``category`` overrides ``shape.category`` (the
        learned teacher is conditioned on it; e.g. an unlabelled mesh file has none).

        Returns labels on the input's own points (and faces for mesh inputs). A teacher that
        finds nothing gives a documented empty result: every point -1, ``meta["n_predictions"] == 0``.
        ``meta["timings"]``: seconds of "prepare", "teacher", "prepare_and_teacher" (their wall
        time together) and "method" and of the preparation's own steps ("prepare.*"); when the
        shape is prepared by this call, the teacher runs on the views while the superpoints are
        computed, so "prepare" includes the teacher's run and "teacher" overlaps it
        (:meth:`prepare_and_predict`).
        """
        shape = with_category(shape, category)
        names = validate_parts(parts, shape)
        method = method or self.method
        fn = run_method(method)
        context = self.context()
        config = method_config(method, self.method_options if options is None else options, context)
        prepared, preds, timings = self.prepare_and_predict(shape, names)
        if len(preds) == 0:
            log.warning("%s: the teacher %s found no part of %s", shape.name, self.teacher.name, list(names))
        t = time.perf_counter()
        result = fn(prepared, preds, config, context)
        timings["method"] = time.perf_counter() - t
        return carry_labels(self._finish(prepared, names, preds, result, method,
                                         {**timings, **{f"prepare.{k}": v for k, v in prepared.timings.items()}}),
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
