"""``partlift distill --collection SRC [SRC ...] --parts ... --out student.safetensors``.

Pre-aligns a PartDistill student on a collection of unlabelled shapes (METHODS §4): renders
every shape, runs the teacher, keeps its knowledge (cached next to the output, so a rerun does
not call the teacher again), then trains with forward + backward distillation. Writes the student
(safetensors with its description), ``<out>.log.json`` (per epoch, plus the skipped shapes) and
``<out>.curve.png``; an interrupted run resumes from its last finished epoch.

``--category`` (:mod:`partlift.cli.category`): the category whose part list is the default
``--parts``, the category read from a PartNet-E root, and the category a category-conditioned
teacher (the learned one) predicts shapes with that name none (plain mesh / point-cloud files;
:func:`partlift.teachers.category.with_default_category`). It defaults to the synthetic sources'
category. A closed-vocabulary teacher that does not know the category or a part name stops the
command before any rendering with one line listing what it knows (exit 2).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from partlift.cli.category import add_category_arg, check_coverage
from partlift.cli.common import add_device_arg
from partlift.overrides import add_set_arguments, check_set, parse_set

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    from partlift.distill.backbones import list_backbones
    from partlift.distill.config import DISTILL_PRESETS, RESCORE_MODES

    p = sub.add_parser(
        "distill",
        help="pre-align a PartDistill student on a collection of shapes",
        description="Distil a 3D student from a 2D teacher's predictions on a collection "
        "(folders of shapes, a PartNet-E root, or generated shapes synthetic:CAT:N[:SPLIT[:SEED]]).",
    )
    p.add_argument("--collection", nargs="+", required=True, metavar="SRC",
                   help="shape folders, PartNet-E roots and/or synthetic:CAT:N sources (concatenated)")
    p.add_argument("--parts", nargs="+", default=None,
                   help="part names (default: the category's PartNet-E part list)")
    add_category_arg(p, "synthetic:CAT's; it selects that category of a PartNet-E root, gives the default "
                        "--parts and is the category of files that name none")
    p.add_argument("--teacher", default="simulated:zeroshot", help="teacher name (see `partlift teachers`)")
    p.add_argument("--teacher-mode", default=None, choices=["box", "mask", "pixel"],
                   help="simulated or learned teacher output: box (B-VLM), pixel (P-VLM) or mask")
    p.add_argument("--preset", default="fast", help="render preset for the teacher: partslip, fast or tiny")
    p.add_argument("--points", type=int, default=None, help="points per generated shape (default 10000)")
    p.add_argument("--config", default="default", choices=sorted(DISTILL_PRESETS), help="distillation preset")
    p.add_argument("--backbone", default=None, choices=list_backbones(), help="student backbone")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default from the preset)")
    p.add_argument("--batch-size", type=int, default=None, help="shapes per batch")
    p.add_argument("--no-backward", action="store_true", help="forward distillation only")
    p.add_argument("--rescore", default=None, choices=list(RESCORE_MODES), help="backward re-scoring rule")
    p.add_argument("--weights", default=None,
                   help="PartSTAD weight-net checkpoint: its weights replace the teacher scores as confidences")
    add_set_arguments(p, "partdistill.lr=0.001 or partdistill.preset=tiny (DistillConfig fields)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice")
    p.add_argument("--cache", default=None, help="teacher-knowledge cache folder (default: <out>.knowledge/)")
    p.add_argument("--no-resume", action="store_true", help="start over even if a resume state exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="output student checkpoint (.safetensors)")
    add_device_arg(p)
    p.set_defaults(func=run)


def _part_names(args: argparse.Namespace, category: str | None) -> tuple[str, ...]:
    from partlift.categories import part_names
    from partlift.errors import InputError

    if args.parts:
        return tuple(args.parts)
    if category is None:
        raise InputError("distill: give --parts, or --category (or a synthetic:CAT:N source) to use its part list")
    return tuple(part_names(category))


def run(args: argparse.Namespace) -> int:
    from partlift.distill.align import AlignPaths, align
    from partlift.distill.collection import collection_knowledge, parse_source
    from partlift.distill.method import method_config
    from partlift.errors import InputError
    from partlift.methods import apply_preset
    from partlift.teachers.category import with_default_category
    from partlift.teachers.registry import build_teacher, mode_options, seed_options

    sources = [parse_source(s) for s in args.collection]
    cats = {s.category for s in sources if s.category}
    if len(cats) > 1:
        raise InputError(f"distill: the synthetic sources mix categories {sorted(cats)}; one student is one category")
    if args.category and cats and args.category.strip().lower() != next(iter(cats)).lower():
        raise InputError(f"distill: --category {args.category} contradicts the synthetic source's category "
                         f"{next(iter(cats))}; one student is one category")
    category = args.category or (next(iter(cats)) if cats else None)
    names = _part_names(args, category)
    settings = parse_set(args.set, what="distill: --set")
    check_set(settings, ["partdistill"], what="distill: --set")
    values = apply_preset("partdistill", settings.get("partdistill", {}))
    cfg = method_config({"distill_config": values.pop("distill_config", args.config)}, args.seed)
    cfg = cfg.replace(**values)
    changes = {k: v for k, v in (("backbone", args.backbone), ("epochs", args.epochs),
                                 ("batch_size", args.batch_size), ("rescore", args.rescore)) if v is not None}
    if args.no_backward:
        changes["backward"] = False
    if args.weights:
        changes["confidence"] = "weights"
    cfg = cfg.replace(**changes)
    options = {**seed_options(args.teacher, args.seed), **mode_options(args.teacher, args.teacher_mode)}
    teacher = build_teacher(args.teacher, **options)
    if category is not None:
        check_coverage(teacher, category, names)  # before any rendering
        teacher = with_default_category(teacher, category)
    out = Path(args.out)
    paths = AlignPaths.for_output(out)
    cache = Path(args.cache) if args.cache else paths.stem.with_name(paths.stem.name + ".knowledge")
    kwargs = {} if args.points is None else {"n_points": args.points}
    coll = collection_knowledge(
        args.collection, names, teacher, cfg, render_config=args.preset, category=category,
        device=args.device, cache_dir=cache, weights=args.weights, progress=not args.no_progress, **kwargs,
    )
    if coll.skipped:
        print(f"skipped {len(coll.skipped)} shape(s) on which the teacher found nothing: "
              f"{', '.join(coll.skipped[:5])}{' ...' if len(coll.skipped) > 5 else ''}")
    meta = {"category": category, "teacher": teacher.name, "collection": coll.summary(),
            "render_preset": args.preset}
    result = align(coll.knowledge, names, cfg, regime="pre", device=args.device, paths=paths,
                   resume=not args.no_resume, progress=not args.no_progress, meta=meta)
    last = result.log[-1] if result.log else {}
    bwd = "no backward round" if result.backward_epoch is None else f"backward from epoch {result.backward_epoch}"
    resumed = f", resumed at epoch {result.resumed_from}" if result.resumed_from else ""
    print(f"distilled {cfg.backbone} student for {category or 'parts'} {list(names)} on "
          f"{len(coll.knowledge)} shapes ({len(coll.skipped)} skipped){resumed}: final loss "
          f"{last.get('loss')}, {bwd}, {result.seconds:.1f}s")
    print(f"wrote {out} ({paths.log.name}, {paths.curve.name})")
    return 0
