"""``partlift segment SHAPE --parts ... --out DIR``: label a shape's parts and write every output."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from partlift.cli.category import add_category_arg, check_coverage, shape_category
from partlift.cli.common import add_device_arg, atomic_write_json, versions
from partlift.cli.helpformat import DefaultsHelpFormatter
from partlift.cli.outdir import relative_files, shown_out
from partlift.cli.recorded_teacher import resolve_teacher
from partlift.methods import list_methods
from partlift.overrides import STAGES, add_set_arguments, check_set, parse_set

log = logging.getLogger(__name__)

PIXEL_ROLE: frozenset[tuple[str, str]] = frozenset({("learned", "partdistill-tta"), ("learned", "partdistill-tta-forward")})
"""(teacher, method) pairs whose default ``--teacher-mode`` is ``pixel``: PartDistill's P-VLM role
for the learned teacher, measured better than its ``mask`` default in mIoU and mAP50 on the
generated and the real dev shapes (docs/partdistill.md "A 3D prior, ...": TTA 48.5 vs 39.8 and
50.5 vs 45.6 mIoU). ``partlift bench`` builds one teacher for all its methods and keeps the
teacher's own default there."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "segment",
        formatter_class=DefaultsHelpFormatter,
        help="segment a point cloud or mesh into named parts",
        description="Segment SHAPE into the given parts and write semantic.npy, instance.npy, "
        "a coloured PLY (and GLB + face_labels.npy/face_instances.npy for meshes), one PLY per "
        "part, summary.json and views.png into --out. Paths in summary.json are relative to --out. "
        "A run replaces --out as a whole: an earlier run's files never remain beside the new ones, "
        "and a failed or interrupted run leaves them untouched. Meshes are taken as Y-up (see --up).",
    )
    p.add_argument("shape", help="a shape file (.ply, .obj, .glb, ...) or a PartNet-E shape folder")
    p.add_argument("--parts", nargs="+", default=None,
                   help="part names, e.g. --parts arm back leg seat (default: the shape's own part list)")
    p.add_argument("--teacher", default=None,
                   help="teacher name (see `partlift teachers`; default: the teacher recorded in "
                        "--weights/--student, else simulated for a labelled shape and learned for an "
                        "unlabelled one of a category it knows)")
    p.add_argument("--teacher-mode", default=None, choices=["box", "mask", "pixel"],
                   help="simulated or learned teacher output: box (B-VLM), pixel (P-VLM: one region per "
                        "view and part; the default for the learned teacher with partdistill-tta, where it "
                        "measured best) or mask (default: the teacher's own)")
    add_category_arg(p)
    p.add_argument("--method", default="partslip", choices=list_methods(), help="segmentation method")
    p.add_argument("--preset", default="partslip", help="render preset: partslip, fast or tiny")
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice")
    p.add_argument("--weights", default=None, help="PartSTAD weight-net checkpoint (--method partstad)")
    p.add_argument("--student", default=None, help="PartDistill student checkpoint (--method partdistill, or "
                   "partdistill-pre-tta to align it further on the shape)")
    p.add_argument("--vote-region", choices=("box", "mask"), default="box",
                   help="what a prediction covers in PartSLIP voting: its box (PartSLIP) or its mask "
                        "(needs a teacher with masks, e.g. box+sam or simulated)")
    add_set_arguments(p, "render.image_size=400, superpoints.k=20 or partslip.region=mask (the chosen "
                      "--method's section)")
    p.add_argument("--points", type=int, default=None, help="points to sample from a mesh input")
    p.add_argument("--up", choices=("y", "z", "x"), default="y",
                   help="the input's up axis: y (glTF, PartNet-E), z (CAD, scans) or x; the shape is "
                        "rotated to Y-up before rendering and outputs are written in that frame")
    p.add_argument("--no-sheet", action="store_true", help="skip views.png")
    p.add_argument("--out", required=True, help="output folder")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from partlift.config import render_preset
    from partlift.io import load_shape
    from partlift.lifting.config import VoteConfig
    from partlift.pipeline import Segmenter
    from partlift.summary import segmentation_summary
    from partlift.superpoints import SuperpointConfig
    from partlift.teachers.registry import mode_options, seed_options

    if args.teacher is None and (args.weights or args.student):
        args.teacher = resolve_teacher(None, args.weights, args.student)
    settings = parse_set(args.set, what="segment: --set")
    check_set(settings, [*STAGES, args.method], what="segment: --set")
    load_kwargs = {} if args.points is None else {"n_points": args.points}
    shape = load_shape(args.shape, up=args.up, **load_kwargs)
    shape, teacher = _category_and_teacher(shape, args)
    method_options = dict(settings.get(args.method, {}))
    method_options.update({k: v for k, v in (("weights", args.weights), ("student", args.student)) if v})
    seg = Segmenter(
        teacher=teacher,
        method=args.method,
        preset=render_preset(args.preset).replace(**settings.get("render", {})),
        superpoint_config=SuperpointConfig.from_overrides(settings.get("superpoints"), seed=args.seed),
        device=args.device,
        seed=args.seed,
        teacher_options={**seed_options(teacher, args.seed), **mode_options(teacher, teacher_mode(teacher, args)),
                         "device": args.device},
        method_options=method_options,
        vote_config=VoteConfig(region=args.vote_region),
    )
    _check_coverage(seg.teacher, shape, args.parts)
    labels = seg.segment(shape, args.parts)
    out = Path(args.out)
    written = labels.save(out, name="segmented")
    summary = segmentation_summary(shape, labels)
    summary["versions"] = versions()
    summary["files"] = written
    if not args.no_sheet:
        from partlift.sheet import write_views_sheet

        prepared = seg.prepare(shape)
        sheet = write_views_sheet(out / "views.png", prepared, seg.predictions(shape, labels.part_names), labels)
        summary["files"]["views"] = str(sheet)
    summary["files"] = relative_files(summary["files"], out)  # relative to the output folder
    atomic_write_json(out / "summary.json", summary)
    counts = ", ".join(f"{k} {v}" for k, v in labels.counts().items())
    line = f"{shape.name}: {labels.n_points} points -> {counts}"
    if summary.get("miou") is not None:
        line += f" | mIoU {100 * summary['miou']:.1f}"
    print(line)
    print(f"wrote {shown_out(args)}/ ({', '.join(sorted(Path(p).name for p in summary['files'].values()))})")
    log.debug(json.dumps(summary["timings"]))
    return 0


def teacher_mode(teacher: str, args: argparse.Namespace) -> str | None:
    """``--teacher-mode`` if given, else ``pixel`` for a (teacher, method) pair of
    :data:`PIXEL_ROLE`, else None (the teacher's own default)."""
    from partlift.teachers.registry import spec_name

    if args.teacher_mode is not None:
        return args.teacher_mode
    if (spec_name(teacher), args.method) in PIXEL_ROLE:
        log.info("teacher %s in its pixel (P-VLM) role for %s; --teacher-mode mask for its default", teacher, args.method)
        return "pixel"
    return None


def _category_and_teacher(shape, args: argparse.Namespace):
    """The shape with its category (:func:`partlift.cli.category.shape_category`) and the teacher
    spec (``--teacher``, else :func:`partlift.teachers.choose.default_teacher`)."""
    from partlift.teachers.choose import default_teacher

    shape = shape_category(shape, args.category, args.shape)
    return shape, args.teacher or default_teacher(shape, shape.category)


def _check_coverage(teacher, shape, parts) -> None:
    """Fail before the render when a closed-vocabulary teacher cannot label the parts."""
    from partlift.names import validate_parts

    check_coverage(teacher, shape.category, validate_parts(parts, shape))
