"""``partlift predict SHAPE --teacher ... --out DIR``: run a 2D teacher and draw its predictions.

Loads and normalises the shape, renders it, runs the teacher (through the on-disk prediction
cache unless ``--no-cache``) and writes ``view_XX.png`` (boxes, semi-transparent masks, part
names and scores), ``predictions.json`` and, for mask teachers, ``masks.npz``.

``--parts`` defaults to the shape's part list (its category's PartNet-E names). With the simulated
teacher, asked-for names the shape has no ground truth for never get true detections, only false
positives and confusions.

``--category`` works as in ``segment`` (:mod:`partlift.cli.category`): it names the category when
the shape (a PartNet-E folder) or its path does not; the learned teacher is conditioned on it and
refuses an unknown category or part name with one line (exit 2) before rendering. Without
``--teacher``: ``simulated:zeroshot`` for a labelled shape, else the rule of ``segment``
(:func:`partlift.teachers.choose.default_teacher`: the learned teacher for a category it knows).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from partlift.cli.category import add_category_arg, check_coverage, shape_category
from partlift.cli.common import add_device_arg
from partlift.cli.outdir import shown_out

log = logging.getLogger(__name__)

LABELLED_DEFAULT = "simulated:zeroshot"
"""The teacher of a labelled shape when ``--teacher`` is not given."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="run a 2D teacher on a shape's rendered views and draw its predictions",
        description="Render SHAPE, run the teacher and write view_XX.png with the predictions "
        "drawn, predictions.json (view, label, part, score, box xyxy px) and masks.npz.",
    )
    p.add_argument("shape", help="a shape file (.ply, .obj, .glb, ...) or a PartNet-E shape folder")
    p.add_argument("--teacher", default=None,
                   help="teacher spec, e.g. simulated:oracle, learned or grounding-dino+sam (see `partlift "
                        f"teachers`; default: {LABELLED_DEFAULT} for a labelled shape, else learned for a "
                        "category it knows)")
    add_category_arg(p)
    p.add_argument("--parts", nargs="+", default=None,
                   help="part names (default: the shape's own part list)")
    p.add_argument("--preset", default="partslip", help="render preset: partslip, fast or tiny")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the simulated teacher's noise (default: the profile's seed)")
    p.add_argument("--points", type=int, default=None, help="points to sample from a mesh input")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the prediction cache")
    p.add_argument("--cache-dir", default=None,
                   help="prediction cache root (default: $PARTLIFT_CACHE_DIR, $XDG_CACHE_HOME/partlift "
                   "or ~/.cache/partlift)")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from partlift.categories import resolve_part_names
    from partlift.config import render_preset
    from partlift.errors import InputError
    from partlift.io import load_shape
    from partlift.pipeline import DEFAULT_CACHE, Segmenter
    from partlift.prepare import prepare_shape
    from partlift.teachers.choose import default_teacher
    from partlift.teachers.registry import build_teacher, seed_options, takes_seed
    from partlift.viz_predictions import (
        save_prediction_masks,
        save_prediction_pngs,
        save_predictions_json,
    )

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder, but a file of that name exists; choose another path")
    config = render_preset(args.preset)

    def build(spec: str):
        options: dict = {"device": args.device}
        if args.seed is not None:
            if takes_seed(spec):
                options.update(seed_options(spec, args.seed))
            else:
                log.warning("--seed only changes the simulated teacher; ignored for %s", spec)
        return build_teacher(spec, refiner_options={"device": args.device}, **options)

    teacher = build(args.teacher) if args.teacher else None  # a bad --teacher fails before any loading
    load_kwargs = {} if args.points is None else {"n_points": args.points}
    shape = shape_category(load_shape(args.shape, **load_kwargs), args.category, args.shape)
    if teacher is None:
        teacher = build(LABELLED_DEFAULT if shape.semantic is not None else default_teacher(shape, shape.category))
    # --parts, else the shape's own part list, else its category's names; none -> InputError.
    names = resolve_part_names(
        shape.category, args.parts if args.parts is not None else shape.part_names
    )
    check_coverage(teacher, shape.category, names)  # before any rendering
    prepared = prepare_shape(shape, config, superpoints=False, normals="render", device=args.device)
    shape, views = prepared.shape, prepared.views
    seg = Segmenter(teacher, preset=config, device=args.device,
                    cache_dir=None if args.no_cache else (args.cache_dir or DEFAULT_CACHE))
    preds = seg.predict_views(shape, views, names)
    pngs = save_prediction_pngs(views, preds, out)
    save_predictions_json(preds, out / "predictions.json")
    masks = save_prediction_masks(preds, out / "masks.npz")
    per_part = {n: int((preds.label == i).sum()) for i, n in enumerate(names)}
    print(f"{shape.name}: {len(preds)} predictions by {teacher.name} on {views.n_views} views "
          f"({', '.join(f'{k} {v}' for k, v in per_part.items())})")
    files = [p.name for p in pngs[:1]] + (["..."] if len(pngs) > 1 else []) + ["predictions.json"]
    if masks is not None:
        files.append(masks.name)
    print(f"wrote {shown_out(args)}/ ({', '.join(files)})")
    return 0
