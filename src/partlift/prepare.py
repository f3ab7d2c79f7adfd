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
from typing import Any

from partlift.config import RenderConfig, render_preset
from partlift.errors import InputError
from partlift.keys import content_key, shape_key
from partlift.types import PreparedShape, Shape

__all__ = ["NORMALS_MODES", "prepare_shape", "preparation_key", "predict_cached"]

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
) -> PreparedShape:
    """Normalise ``shape``, estimate normals, render it and (on demand) over-segment it.

    Args:
        shape: the input shape, any frame.
        render_config: a :class:`~partlift.config.RenderConfig` or a preset name.
        superpoint_config: :class:`~partlift.superpoints.SuperpointConfig` (None = defaults).
        superpoints: compute superpoints (METHODS §1.4); False leaves ``superpoints`` None.
        normals: one of :data:`NORMALS_MODES`.
        device: torch device of the renderer.

    Returns:
        a :class:`~partlift.types.PreparedShape`; ``shape`` is in the unit-sphere frame.
    """
    from partlift.geometry import ensure_normals, normalize
    from partlift.render import render

    if not isinstance(shape, Shape):
        raise InputError(f"expected a partlift Shape (see partlift.load_shape), got {type(shape).__name__}")
    if normals not in NORMALS_MODES:
        raise InputError(f"prepare_shape: normals must be one of {list(NORMALS_MODES)}, got {normals!r}")
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
    if normals == "estimated":
        norm = ensure_normals(given.replace(normals=None), workers=-1)
        drawn = given if given.normals is not None else norm
    elif normals == "given":
        norm = drawn = ensure_normals(given)
    else:
        norm = drawn = given
    timings["normalize"] = time.perf_counter() - t
    t = time.perf_counter()
    views = render(drawn, cfg, device=device)
    timings["render"] = time.perf_counter() - t
    sp = None
    if superpoints:
        from partlift.superpoints import superpoints_for_shape

        t = time.perf_counter()
        sp = superpoints_for_shape(norm, superpoint_config)
        timings["superpoints"] = time.perf_counter() - t
        log.info("prepared %s: %d points, %d superpoints (%.2fs)", shape.name, norm.n_points,
                 int(sp.max()) + 1, sum(timings.values()))
    return PreparedShape(key, shape, norm, views, sp, timings)


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
