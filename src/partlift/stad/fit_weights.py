"""``fit_weights``: shapes in, a PartSTAD checkpoint out (the library side of ``partlift fit-weights``).

Shape sources (``spec``):

* ``"synthetic:N"`` — N generated shapes of the category from the synthetic generator's split
  (``"shots"`` for training, ``"val"`` for validation, ``"test"`` for test ids), seeds from
  :func:`partlift.data.synthetic.shape_seed`, so the splits are disjoint;
* a PartNet-E folder — ``DIR/<Category>/<id>/`` (the category's shapes are read) or ``DIR``
  directly holding shape folders ``DIR/<id>/pc.ply`` (their part names are the category's).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from partlift.config import to_dict
from partlift.errors import InputError
from partlift.stad.config import StadConfig
from partlift.stad.fit import (
    MIN_TRAIN_SHAPES,
    FitResult,
    check_splits,
    fit_category,
    prepare_shapes,
)
from partlift.types import Shape

__all__ = ["SYNTHETIC_PREFIX", "DEFAULT_POINTS", "shape_source", "source_names", "fit_weights"]

logger = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "synthetic:"
DEFAULT_POINTS = 10_000
"""Points per generated shape (training only touches superpoint-level tensors)."""


def _synthetic_count(spec: str) -> int | None:
    if not spec.startswith(SYNTHETIC_PREFIX):
        return None
    tail = spec[len(SYNTHETIC_PREFIX):]
    if not tail.isdigit() or int(tail) < 1:
        raise InputError(f"expected 'synthetic:N' with N >= 1 shapes, got {spec!r}")
    return int(tail)


def _folder_ids(spec: str, category: str) -> tuple[str, list[Path]]:
    """(mode, shape folders) of a PartNet-E folder spec for ``category``."""
    root = Path(spec)
    if not root.is_dir():
        raise InputError(
            f"{spec!r} is neither 'synthetic:N' nor a folder; pass a PartNet-E folder "
            "(DIR/<Category>/<id>/pc.ply or DIR/<id>/pc.ply) or synthetic:N"
        )
    if (root / category).is_dir():
        return "dataset", []
    dirs = sorted((p for p in root.iterdir() if (p / "pc.ply").is_file()), key=lambda p: p.name)
    if not dirs:
        raise InputError(
            f"no shapes of {category} under {root}: expected {root}/{category}/<id>/pc.ply or "
            f"{root}/<id>/pc.ply"
        )
    return "flat", dirs


def shape_source(
    spec: str, category: str, split: str, *, n_points: int = DEFAULT_POINTS, seed: int = 0
) -> tuple[list[str], tuple[str, ...], Callable[[], Iterator[Shape]]]:
    """(shape names, part names, a function yielding the labelled shapes) for a shape spec.

    See the module docstring for the specs.

    Shapes are produced lazily so that only one shape's points are in memory at a time.
    """
    from partlift.data import synthetic

    count = _synthetic_count(spec)
    if count is not None:
        if category not in synthetic.list_categories():
            raise InputError(
                f"category {category!r} cannot be generated; generatable: {synthetic.list_categories()}"
            )
        seeds = [synthetic.shape_seed(seed, category, i, split) for i in range(count)]
        names = [f"{category}/{synthetic.shape_id(s)}" for s in seeds]

        def gen_synth() -> Iterator[Shape]:
            for s in seeds:
                yield synthetic.generate(category, s, n_points=n_points)

        return names, synthetic.category_parts(category), gen_synth
    mode, dirs = _folder_ids(spec, category)
    if mode == "dataset":
        from partlift.data.partnete import PartNetEDataset

        ds = PartNetEDataset(spec, categories=[category])
        ids = list(ds.shape_ids(category))
        return ids, ds.part_names(category), lambda: ds.iter_shapes(ids=ids)
    from partlift.categories import META_FILENAME, part_names, read_meta_file
    from partlift.io import load_shape

    table = read_meta_file(Path(spec) / META_FILENAME) if (Path(spec) / META_FILENAME).is_file() else None
    parts = tuple(part_names(category, table))
    names = [f"{category}/{d.name}" for d in dirs]

    def gen_flat() -> Iterator[Shape]:
        for d, name in zip(dirs, names, strict=True):
            shape = load_shape(d)
            yield shape.replace(part_names=parts, category=category, name=name)

    return names, parts, gen_flat


def source_names(spec: str | Sequence[str] | None, category: str, split: str = "test", seed: int = 0) -> list[str]:
    """Shape names of a spec (or the given ids themselves) — for split-overlap checks."""
    if spec is None:
        return []
    if isinstance(spec, str):
        spec = [spec]
    out: list[str] = []
    for item in spec:
        if item.startswith(SYNTHETIC_PREFIX) or Path(item).is_dir():
            out.extend(shape_source(item, category, split, seed=seed)[0])
        else:
            out.append(item)
    return out


def fit_weights(
    *,
    shots: str,
    category: str,
    out: str | os.PathLike,
    teacher: str = "simulated:fewshot",
    val: str | None = None,
    test: str | Sequence[str] | None = None,
    config: StadConfig | None = None,
    masks: bool | None = None,
    preset: str = "fast",
    n_points: int = DEFAULT_POINTS,
    seed: int = 0,
    device: str = "cpu",
    resume: bool = True,
    segmenter: Any = None,
    on_shape: Callable[[str], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Prepare the training and validation shapes of one category, train, select, save.

    Args:
        shots: training shapes (see :func:`shape_source`).
        category: the PartNet-E category; its part list (from the data) is the prompt.
        out: checkpoint path (``.safetensors``); log, curve and resume state go next to it.
        teacher: teacher name; simulated teachers get ``seed`` as their noise seed.
        val: validation shapes; default ``"synthetic:8"`` (the generator's "val" split) when the
            category can be generated, else none (last-epoch selection, with a warning).
        test: test shape names or a spec; a validation shape among them is refused.
        config: PartSTAD settings (default :class:`StadConfig` with ``seed``).
        masks: vote with masks; None = when the teacher gives masks (kind "mask").
        preset: render preset of the preparation (box corners are normalised by the image size,
            so the weights also apply to other presets of the same camera rig).
        n_points: points per generated shape.
        seed: seed of the generated shapes, the teacher noise and training.
        device: torch device.
        resume: continue an interrupted run of the same inputs.
        segmenter: what prepares the shapes and predicts, overriding teacher/preset: a
            :class:`~partlift.prepare.Preparation` or a :class:`~partlift.pipeline.Segmenter`
            (see :func:`partlift.stad.fit.prepare_shapes`). Default:
            ``Preparation.build(teacher, preset, seed=seed, device=device)``.
        on_shape: called with each prepared shape's name.
        on_epoch: called with each epoch's log record.
    """
    from partlift.data import synthetic
    from partlift.prepare import Preparation

    if segmenter is None:
        segmenter = Preparation.build(teacher, preset, seed=seed, device=device)
    kind = getattr(segmenter.teacher, "kind", "box")
    if masks is None:
        masks = kind == "mask"
        logger.info("voting with %s (teacher %s is of kind %r)", "masks" if masks else "boxes",
                    segmenter.teacher.name, kind)
    config = (config or StadConfig(seed=seed)).replace(masks=bool(masks))
    if val is None and category in synthetic.list_categories():
        val = "synthetic:8"
    train_names, parts, train_iter = shape_source(shots, category, "shots", n_points=n_points, seed=seed)
    val_names, val_iter = [], None
    if val is not None:
        val_names, val_parts, val_iter = shape_source(val, category, "val", n_points=n_points, seed=seed)
        if tuple(val_parts) != tuple(parts):
            raise InputError(f"validation part names {list(val_parts)} differ from the training ones {list(parts)}")
    test_names = source_names(test, category, "test", seed)
    check_splits(train_names, val_names, test_names)

    t0 = time.perf_counter()
    train = prepare_shapes(segmenter, train_iter(), parts, config, role="training", progress=on_shape)
    if len(train) < MIN_TRAIN_SHAPES:  # refuse before preparing the validation shapes
        usable = [st.name for st in train]
        raise InputError(
            f"PartSTAD needs at least {MIN_TRAIN_SHAPES} usable training shapes, got {len(train)} of "
            f"{len(train_names)} in {shots!r}" + (f" ({usable})" if usable else "")
            + "; shapes without teacher predictions or labelled points are skipped (see the warnings)"
        )
    val_st = [] if val_iter is None else prepare_shapes(segmenter, val_iter(), parts, config,
                                                         role="validation", progress=on_shape)
    prep_seconds = time.perf_counter() - t0
    feature_dim = int(train[0].inputs.shape[1]) - config.encoding_dim if train else 0
    meta = {
        "category": category,
        "part_names": list(parts),
        "teacher": segmenter.teacher.name,
        "feature_dim": feature_dim,
        "render": to_dict(segmenter.render_config) if hasattr(segmenter, "render_config") else None,
        "shots": shots,
        "val": val,
        "prepare_seconds": round(prep_seconds, 2),
    }
    logger.info("prepared %d training and %d validation shapes in %.1fs", len(train), len(val_st), prep_seconds)
    return fit_category(train, val_st, config, meta=meta, vote_config=getattr(segmenter, "vote_config", None),
                        device=device, out=out, resume=resume, progress=on_epoch)
