"""Collections of unlabelled shapes for pre-alignment, and their teacher knowledge (METHODS §4.6, §4.8).

A collection is given by one or more *sources*:

* ``synthetic:CAT:N[:SPLIT[:SEED]]`` — N shapes of category CAT from the procedural generator
  (:mod:`partlift.data.synthetic`), shape i seeded by ``shape_seed(SEED, CAT, i, SPLIT)``
  (split default ``collection``, seed default 0). The generated shapes are PartDistill's
  "generated shapes" knowledge source (§4.8);
* a folder: a PartNet-E root (``<root>/<Category>/<id>/pc.ply``, filtered to the category), or a
  folder of shape files (every supported file, sorted by name).

Several sources are concatenated ("generated + real", §4.8). Labels in the files are not used by
the distillation; the simulated teacher needs them to make its predictions (it renders ground
truth), real teachers do not.

:func:`collection_knowledge` renders each shape, runs the teacher and keeps its knowledge
(:mod:`partlift.distill.knowledge`), caching each shape's knowledge on disk (so an interrupted
run resumes without re-running the teacher). A shape on which the teacher finds nothing is
skipped and counted, never trained on.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from partlift.distill.config import DistillConfig
from partlift.distill.knowledge import (
    ShapeKnowledge,
    build_knowledge,
    render_for_teacher,
    resolve_region,
    stad_confidences,
)
from partlift.errors import CheckpointError, InputError, PartliftError
from partlift.types import Shape

__all__ = [
    "CollectionSource",
    "parse_source",
    "iter_source",
    "source_category",
    "CollectionKnowledge",
    "collection_knowledge",
    "shapes_knowledge",
]

logger = logging.getLogger(__name__)

DEFAULT_GENERATED_POINTS = 10_000
"""Points sampled per generated shape (the teacher renders them; the student sees 2048)."""



@dataclass(frozen=True)
class CollectionSource:
    """One parsed source: ``kind`` "synthetic" (category, count, split, seed) or "folder" (path)."""

    kind: str
    spec: str
    category: str | None = None
    count: int = 0
    split: str = "collection"
    seed: int = 0
    path: Path | None = None


def parse_source(spec: str) -> CollectionSource:
    """Parse ``synthetic:CAT:N[:SPLIT[:SEED]]`` or a folder path (:func:`partlift.sources.parse_source`);
    raises InputError when neither."""
    from partlift.sources import parse_source as parse

    src = parse(spec, "collection", allow=("synthetic-category", "dir"))
    if src.kind == "synthetic-category":
        from partlift.data.synthetic import list_categories

        if src.category not in list_categories():
            raise InputError(f"collection: the generator has no category {src.category!r}; "
                             f"choose one of {list_categories()}")
        return CollectionSource("synthetic", src.spec, src.category, src.count, src.split or "collection",
                                src.seed or 0)
    path = Path(src.spec)
    if not path.is_dir():
        raise InputError(f"collection: {src.spec!r} is neither a folder nor 'synthetic:CAT:N' (e.g. synthetic:Chair:100)")
    return CollectionSource("folder", src.spec, path=path)


def source_category(source: CollectionSource) -> str | None:
    """The category a source is about, when it says (synthetic sources)."""
    return source.category


def _folder_shapes(path: Path, category: str | None, n_points: int) -> Iterator[Shape]:
    from partlift.data.partnete import PartNetEDataset
    from partlift.io import load_shape
    from partlift.io.partnete_dir import is_partnete_dir
    from partlift.io.shape import SUPPORTED_EXTENSIONS

    subdirs = sorted(p for p in path.iterdir() if p.is_dir())
    if is_partnete_dir(path):
        yield load_shape(path)
        return
    if any(is_partnete_dir(s) for d in subdirs for s in d.iterdir() if s.is_dir()):
        try:
            ds = PartNetEDataset(path, categories=[category] if category else None)
        except InputError as exc:
            raise InputError(f"collection {path}: {exc}") from None
        yield from ds.iter_shapes()
        return
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS)
    files += [s for s in subdirs if is_partnete_dir(s)]
    for f in sorted(files):
        yield load_shape(f, n_points=n_points)


def iter_source(source: CollectionSource, *, category: str | None = None,
                n_points: int = DEFAULT_GENERATED_POINTS) -> Iterator[Shape]:
    """Yield the shapes of one source (lazily; generated shapes have ``n_points`` points)."""
    if source.kind == "synthetic":
        from partlift.data.synthetic import generate, shape_seed

        for i in range(source.count):
            seed = shape_seed(source.seed, source.category, i, source.split)
            yield generate(source.category, seed, n_points=n_points)
    else:
        yield from _folder_shapes(source.path, category, n_points)


@dataclass(eq=False)
class CollectionKnowledge:
    """Teacher knowledge of a collection.

    Attributes:
        knowledge: one :class:`ShapeKnowledge` per usable shape, in source order.
        skipped: names of shapes on which the teacher found nothing (not trained on).
        failed: ``(name, reason)`` of shapes that could not be read or rendered.
        part_names: the part list. teacher: the teacher's name. sources: the source specs.
    """

    knowledge: list[ShapeKnowledge]
    skipped: list[str]
    failed: list[tuple[str, str]]
    part_names: tuple[str, ...]
    teacher: str
    sources: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "sources": self.sources, "teacher": self.teacher, "n_shapes": len(self.knowledge),
            "n_skipped": len(self.skipped), "skipped": self.skipped, "n_failed": len(self.failed),
            "failed": [list(f) for f in self.failed],
        }


def _cache_key(shape: Shape, teacher: str, names: tuple[str, ...], render: Any, config: DistillConfig,
               weights: str | None) -> str:
    from partlift.config import to_dict
    from partlift.keys import content_key, file_digest, shape_key

    relevant = {k: getattr(config, k) for k in ("knowledge_points", "null_class", "null_weight", "region",
                                                "seed", "use_rgb", "use_normals")}
    return content_key({"shape": shape_key(shape), "name": shape.name, "teacher": teacher, "parts": list(names),
                        "render": to_dict(render), "config": relevant,
                        "weights": file_digest(weights, 64) if weights else None}, length=20)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[-60:]


def shapes_knowledge(
    shapes: Iterable[Shape],
    names: tuple[str, ...],
    teacher: Any,
    config: DistillConfig,
    *,
    render: Any,
    device: str = "cpu",
    cache_dir: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    bar: Any = None,
    source: str = "shapes",
    prediction_cache: Any = None,
) -> tuple[list[ShapeKnowledge], list[str], list[tuple[str, str]], int]:
    """Knowledge of each shape of an iterable: ``(knowledge, skipped, failed, seen)``.

    The worker of :func:`collection_knowledge` (which parses sources and validates); callers
    with shapes of their own (e.g. transformed generated shapes) use it directly.
    ``prediction_cache``: a :class:`~partlift.teachers.cache.PredictionCache` for the teacher's
    predictions (None: no cache).
    """
    from partlift.prepare import predict_cached
    cache = Path(cache_dir) if cache_dir is not None else None
    knowledge: list[ShapeKnowledge] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    seen = 0
    it = iter(shapes)
    while True:
        try:
            shape = next(it)
        except StopIteration:
            break
        except PartliftError as exc:
            failed.append((source, str(exc)))
            logger.warning("collection %s: %s", source, exc)
            break
        seen += 1
        know = None
        path = None
        if cache is not None:
            key = _cache_key(shape, teacher.name, names, render, config, None if weights is None else str(weights))
            path = cache / f"{_safe(shape.name)}-{key}.npz"
            if path.is_file():
                try:
                    know = ShapeKnowledge.load(path)
                except InputError:
                    know = None
        if know is None:
            try:
                norm, views = render_for_teacher(shape, render, device)
                preds = predict_cached(teacher, norm, views, names, render, prediction_cache)
                region = resolve_region(config.region, getattr(teacher, "kind", None), preds)
                conf = None
                if weights is not None:
                    conf = stad_confidences(weights, preds, views, teacher=teacher.name, device=device)
                know = build_knowledge(norm, views, preds, config, region=region, confidences=conf)
            except CheckpointError:
                raise
            except PartliftError as exc:
                failed.append((shape.name, str(exc)))
                logger.warning("collection: %s failed: %s", shape.name, exc)
                know = None
            if know is not None and path is not None:
                know.save(path)
        if know is not None:
            if know.is_empty:
                skipped.append(shape.name)
                logger.info("collection: the teacher found nothing on %s; skipped", shape.name)
            else:
                knowledge.append(know)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(kept=len(knowledge), skipped=len(skipped))
    return knowledge, skipped, failed, seen


def collection_knowledge(
    sources: Sequence[str],
    part_names: Sequence[str],
    teacher: Any,
    config: DistillConfig,
    *,
    render_config: Any = "fast",
    category: str | None = None,
    n_points: int = DEFAULT_GENERATED_POINTS,
    device: str = "cpu",
    cache_dir: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    progress: bool = False,
    prediction_cache_dir: str | os.PathLike | None = "default",
) -> CollectionKnowledge:
    """Render every shape of the sources, run the teacher and keep its knowledge.

    Args:
        sources: collection specs (see the module doc); concatenated in order.
        part_names: the part list the teacher is asked for.
        teacher: a teacher object (``predict(views, names, shape)``, ``name``, ``kind``) or a
            name for :func:`partlift.teachers.registry.build_teacher`.
        config: knowledge settings (knowledge points, null class, region, seed, inputs).
        render_config: a render preset name or RenderConfig (default ``"fast"``).
        category: for PartNet-E folders: the category to read.
        n_points: points per generated shape.
        cache_dir: keep each shape's knowledge here (``.npz``) and reuse it when present.
        weights: a PartSTAD weight-net checkpoint for the confidences (``confidence="weights"``).
        progress: show a tqdm bar over shapes.
        prediction_cache_dir: the teacher-prediction cache (:class:`~partlift.teachers.cache.PredictionCache`)
            shared with the Segmenter: ``"default"`` = ``$PARTLIFT_CACHE_DIR`` or the user's cache
            folder; None = off.

    Returns:
        :class:`CollectionKnowledge`.

    Raises:
        InputError: no source, an empty collection (no shape at all), or a teacher that found
            nothing on every shape.
    """
    from partlift.config import render_preset
    from partlift.names import validate_parts
    from partlift.teachers.registry import build_teacher, seed_options

    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        raise InputError("distill: no collection given; pass --collection FOLDER or synthetic:CAT:N")
    parsed = [parse_source(s) for s in sources]
    names = validate_parts(part_names)
    render = render_preset(render_config) if isinstance(render_config, str) else render_config
    if isinstance(teacher, str):
        teacher = build_teacher(teacher, **seed_options(teacher, config.seed))
    if weights is not None and config.confidence != "weights":
        config = config.replace(confidence="weights")
    knowledge: list[ShapeKnowledge] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    total = sum(p.count for p in parsed) if all(p.kind == "synthetic" for p in parsed) else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="teacher knowledge", unit="shape")
    pcache = None
    if prediction_cache_dir is not None:
        from partlift.teachers.cache import PredictionCache

        pcache = PredictionCache(None if prediction_cache_dir == "default" else prediction_cache_dir)
    seen = 0
    for src in parsed:
        k, sk, fa, n = shapes_knowledge(
            iter_source(src, category=category, n_points=n_points), names, teacher, config, render=render,
            device=device, cache_dir=cache_dir, weights=weights, bar=bar, source=src.spec,
            prediction_cache=pcache,
        )
        knowledge += k
        skipped += sk
        failed += fa
        seen += n
    if bar is not None:
        bar.close()
    if seen == 0:
        raise InputError(
            f"distill: the collection {list(sources)} holds no shape"
            + (f" of category {category!r}" if category else "")
            + "; give a folder with shapes or synthetic:CAT:N"
        )
    if not knowledge:
        raise InputError(
            f"distill: the teacher {teacher.name} found none of {list(names)} on any of the {seen} "
            f"shape(s) ({len(skipped)} with no prediction, {len(failed)} unreadable); check the part "
            "names and the teacher"
        )
    if skipped:
        logger.warning("distill: %d of %d shapes skipped (the teacher found nothing)", len(skipped), seen)
    meta = {"n_seen": seen, "mean_covered_fraction": float(np.mean([k.covered_fraction for k in knowledge]))}
    return CollectionKnowledge(knowledge, skipped, failed, tuple(names), teacher.name, list(sources), meta)
