"""The one per-shape preparation path: normalise, normals, render, superpoints on demand (DESIGN §2).

Used by :meth:`partlift.pipeline.Segmenter.prepare` (segment, bench, PartSTAD data), PartDistill's
knowledge (:func:`partlift.distill.knowledge.render_for_teacher`) and ``partlift predict`` /
``partlift render``. The render is the same for every caller: the unit-sphere shape (METHODS
§1.1) drawn with its colours, or shaded from its own normals (estimated when it has none, §1.2).
:func:`predict_cached` is the one cached teacher call on a prepared shape (the Segmenter's, and
PartDistill's collection knowledge's). What differs between callers is which normals the returned
shape carries (``normals``):

* ``"estimated"`` (segment, bench, PartSTAD): normals estimated from the cloud (kNN PCA, as
  PartSLIP's Open3D call, METHODS §1.4 step 1), also when the input carries its own (e.g. mesh
  face normals), so that a mesh and its sampled cloud get the same over-segmentation. Given
  normals only shade uncoloured renders.
* ``"given"`` (PartDistill knowledge): the input's own normals, estimated only when it has none.
* ``"render"`` (predict, render): the input's own normals or none; nothing is estimated unless
  the renderer needs normals for shading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from partlift.config import RenderConfig, render_preset
from partlift.errors import InputError
from partlift.keys import content_key, shape_key
from partlift.types import PreparedShape, Shape, Views

__all__ = ["NORMALS_MODES", "Preparation", "prepare_shape", "preparation_key", "predict_cached"]

log = logging.getLogger(__name__)

NORMALS_MODES: tuple[str, ...] = ("estimated", "given", "render")
"""Which normals the prepared shape carries (see the module docstring)."""


def preparation_key(shape: Shape, render_config: RenderConfig, superpoint_config: Any = None,
                    normals: str = "estimated") -> str:
    """Hex SHA-256 of the shape's content and the preparation settings."""
    text = shape_key(shape) + repr(render_config.to_dict()) + repr(superpoint_config)
    if normals != "estimated":
        text += f"|normals={normals}"
    return content_key(text)


def prepare_shape(
    shape: Shape,
    render_config: RenderConfig | str = "partslip",
    *,
    superpoint_config: Any = None,
    superpoints: bool = True,
    normals: str = "estimated",
    device: str = "cpu",
    on_views: Callable[[Shape, Views], None] | None = None,
) -> PreparedShape:
    """Normalise ``shape``, estimate normals, render it and (on demand) over-segment it.

    Args:
        shape: the input shape, any frame.
        render_config: a :class:`~partlift.config.RenderConfig` or a preset name.
        superpoint_config: :class:`~partlift.superpoints.SuperpointConfig` (None = defaults).
        superpoints: compute superpoints (METHODS §1.4); False leaves ``superpoints`` None.
        normals: one of :data:`NORMALS_MODES`.
        device: torch device of the renderer.
        on_views: called once as ``on_views(shape, views)`` (the unit-sphere shape and views
            of the returned PreparedShape) as soon as the views exist, in the calling thread:
            while the superpoints are still being computed in the other thread when they run
            beside the render, so that a teacher can start early (``Segmenter.segment``). An
            exception it raises propagates once the superpoints have finished.

    Returns:
        a :class:`~partlift.types.PreparedShape`; ``shape`` is in the unit-sphere frame.
    """
    from partlift.geometry import (
        ensure_normals,
        estimate_normals,
        normalize,
        normalize_transform,
        normals_and_neighbours,
    )
    from partlift.render import render

    if not isinstance(shape, Shape):
        raise InputError(f"expected a partlift Shape (see partlift.load_shape), got {type(shape).__name__}")
    if normals not in NORMALS_MODES:
        raise InputError(f"prepare_shape: normals must be one of {list(NORMALS_MODES)}, got {normals!r}")
    if on_views is not None and not callable(on_views):
        raise InputError(f"prepare_shape: on_views must be callable or None, got {type(on_views).__name__}")
    cfg = render_preset(render_config) if isinstance(render_config, str) else render_config
    if not isinstance(cfg, RenderConfig):
        raise InputError(f"preset: expected a preset name or RenderConfig, got {type(render_config).__name__}")
    if superpoints and superpoint_config is None:
        from partlift.superpoints import SuperpointConfig

        superpoint_config = SuperpointConfig()
    key = preparation_key(shape, cfg, superpoint_config if superpoints else None, normals)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    given = normalize(shape)
    table = None
    if normals == "estimated":
        # ensure_normals(given without normals), with its one kd-tree query kept (Neighbours):
        # the superpoint graph's 10-NN are the first columns of the normals' 30-NN (issue 17).
        unit = normalize_transform(given.xyz).apply(given.xyz)
        if superpoints:
            estimated, table = normals_and_neighbours(unit, table_k=superpoint_config.k + 1, workers=-1)
        else:
            estimated = estimate_normals(unit, workers=-1)
        norm = given.replace(normals=estimated)
        drawn = given if given.normals is not None else norm
    elif normals == "given":
        norm = drawn = ensure_normals(given)
    else:
        norm = drawn = given
    timings["normalize"] = time.perf_counter() - t
    import torch

    start = time.perf_counter()
    if not superpoints or torch.get_num_threads() < 2:
        t = time.perf_counter()
        views = render(drawn, cfg, device=device)
        timings["render"] = time.perf_counter() - t
        if on_views is not None:
            on_views(norm, views)
        sp = None
        if superpoints:
            sp, timings["superpoints"] = _timed_superpoints(norm, superpoint_config, table)
    else:
        # The render and the superpoints need nothing from each other: the superpoints (numpy
        # and scipy, one thread) are computed in a second thread while this one renders (issue
        # 17, fourth round) -- only when torch may use more than one thread, the knob the
        # renderer's own threads follow too. Both release the GIL in their array loops; each
        # result is what it would be alone. Each timing is that stage's own wall time (they
        # overlap, so their sum exceeds the total). The superpoints are the longer of the two,
        # so on the CPU the render keeps to one thread and leaves them a core of their own
        # (issue 17, 3 Dec: on 2 cores, render + superpoints of a 100k chair 0.50 -> 0.46 s, median of
        # 10; the render's own time did not change).
        with ThreadPoolExecutor(1, thread_name_prefix="partlift-superpoints") as pool:
            job = pool.submit(_timed_superpoints, norm, superpoint_config, table)
            t = time.perf_counter()
            views = render(drawn, cfg, device=device, threads=1)
            timings["render"] = time.perf_counter() - t
            if on_views is not None:
                on_views(norm, views)  # the pool waits for the superpoints if it raises
            sp, timings["superpoints"] = job.result()
    if sp is not None:
        log.info("prepared %s: %d points, %d superpoints (%.2fs)", shape.name, norm.n_points,
                 int(sp.max()) + 1, timings["normalize"] + time.perf_counter() - start)
    return PreparedShape(key, shape, norm, views, sp, timings)


def _timed_superpoints(shape: Shape, config: Any, table: Any) -> tuple[Any, float]:
    """:func:`partlift.superpoints.superpoints_for_shape` and its wall seconds."""
    from partlift.superpoints import superpoints_for_shape

    t = time.perf_counter()
    sp = superpoints_for_shape(shape, config, neighbours=table)
    return sp, time.perf_counter() - t


def predict_cached(teacher: Any, shape: Shape, views: Any, names: Any, render_config: RenderConfig | str,
                   cache: Any = None) -> Any:
    """The teacher's predictions on ``views`` of the unit-sphere ``shape`` for part ``names``,
    through ``cache`` (a :class:`~partlift.teachers.cache.PredictionCache`; None = no cache).

    The key (:func:`partlift.teachers.cache.prediction_key`) covers the shape's content, the render
    settings, the teacher's name (with every option that changes its output) and the part names,
    and the shape's labels and name for teachers that read ground truth, and the shape's category
    for teachers conditioned on it (``needs_category``, the learned teacher).
    """
    from partlift.teachers.cache import prediction_key

    names = tuple(names)

    def compute() -> Any:
        t = time.perf_counter()
        preds = teacher.predict(views, names, shape)
        log.info("teacher %s: %d predictions in %.2fs", teacher.name, len(preds), time.perf_counter() - t)
        return preds

    if cache is None:
        return compute()
    cfg = render_preset(render_config) if isinstance(render_config, str) else render_config
    extra = {"category": shape.category} if getattr(teacher, "needs_category", False) else None
    key = prediction_key(shape, cfg.to_dict(), teacher.name, names, extra,
                         with_labels=bool(getattr(teacher, "needs_ground_truth", False)))
    return cache.get_or_compute(key, compute)


@dataclass(frozen=True, eq=False)
class Preparation:
    """One run's preparation and teacher without a method: what PartSTAD's weight fitting needs
    (:func:`partlift.stad.fit_weights.fit_weights`) below the :class:`~partlift.pipeline.Segmenter`.

    Each shape is prepared once (no in-memory cache: fitting walks every shape once); predictions
    go through ``cache`` like the Segmenter's. ``prepare`` / ``predictions`` give the same arrays
    as ``Segmenter.prepare`` / ``Segmenter.predictions`` with the same settings.

    Attributes:
        teacher: a built teacher (:func:`partlift.teachers.registry.build_teacher`).
        render_config: the render settings.
        superpoint_config: the over-segmentation settings (None = defaults).
        device: torch device of the renderer and the over-segmentation.
        cache: a :class:`~partlift.teachers.cache.PredictionCache`, or None for none.
    """

    teacher: Any
    render_config: RenderConfig
    superpoint_config: Any = None
    device: str = "cpu"
    cache: Any = None

    @classmethod
    def build(cls, teacher: str, preset: str | RenderConfig = "fast", *, seed: int = 0, device: str = "cpu",
              cache_dir: Any = "default") -> Preparation:
        """The preparation a ``Segmenter(teacher, preset=preset, seed=seed, device=device)`` uses:
        the teacher gets ``seed`` when it takes one, superpoints ``SuperpointConfig(seed=seed)``,
        predictions the default cache (``cache_dir="default"``; None = off)."""
        from partlift.superpoints import SuperpointConfig
        from partlift.teachers.cache import PredictionCache
        from partlift.teachers.registry import build_teacher, seed_options

        render_config = render_preset(preset) if isinstance(preset, str) else preset
        if not isinstance(render_config, RenderConfig):
            raise InputError(f"preset: expected a preset name or RenderConfig, got {type(preset).__name__}")
        cache = None if cache_dir is None else PredictionCache(None if cache_dir == "default" else cache_dir)
        return cls(build_teacher(teacher, **seed_options(teacher, seed)), render_config,
                   SuperpointConfig(seed=int(seed)), str(device), cache)

    def prepare(self, shape: Shape) -> PreparedShape:
        """:func:`prepare_shape` with these settings (estimated normals, superpoints)."""
        if not isinstance(shape, Shape):
            raise InputError(f"expected a partlift Shape (see partlift.load_shape), got {type(shape).__name__}")
        return prepare_shape(shape, self.render_config, superpoint_config=self.superpoint_config,
                             device=self.device)

    def predictions_for(self, prepared: PreparedShape, names: Any) -> Any:
        """The teacher's predictions on a prepared shape for part ``names`` (through the cache)."""
        return predict_cached(self.teacher, prepared.shape, prepared.views, tuple(names), self.render_config,
                              self.cache)
