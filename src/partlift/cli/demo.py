"""``partlift demo``: the offline end-to-end demo (README's main job).

Generates a small collection of part-labelled shapes, segments each with the PartSLIP pipeline
and the built-in simulated teacher, prints a per-category mIoU / mAP50 table and writes pictures
(a views sheet and the coloured result per category). Then it segments unlabelled generated meshes
(never seen in training) with the packaged learned teacher and prints their mIoU: for a fixed set of
categories (:data:`LEARNED_DEMO_CATEGORIES`, the real dev shapes' categories plus three common ones)
that the checkpoint knows, so the demo takes the same time whether the checkpoint knows 8 categories
or all 45; ``--learned-categories`` picks others (``all``: every category it knows). Nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from partlift.cli.common import add_device_arg, atomic_write_json, versions
from partlift.cli.outdir import shown_out
from partlift.methods import list_methods

DEFAULT_CATEGORIES = ("Chair", "Table", "StorageFurniture", "Bottle", "Lamp", "Kettle")

LEARNED_DEMO_CATEGORIES = ("Bottle", "Bucket", "Chair", "Kettle", "KitchenPot", "StorageFurniture", "Switch", "Table")
"""The learned section's default categories: the 5 real dev categories (Bottle, Bucket, KitchenPot,
StorageFurniture, Switch) plus Chair, Kettle and Table; those the packaged checkpoint knows are run."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="offline demo: generate shapes, segment them with the simulated teacher and unlabelled "
        "meshes with the learned teacher, print mIoU",
    )
    p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    p.add_argument("--categories", nargs="+", default=list(DEFAULT_CATEGORIES),
                   help=f"categories to generate (default: {' '.join(DEFAULT_CATEGORIES)})")
    p.add_argument("--count", type=int, default=2, help="shapes per category (default: 2)")
    p.add_argument("--points", type=int, default=20000, help="points per shape (default: 20000)")
    p.add_argument("--teacher", default="simulated:fewshot", help="teacher (default: simulated:fewshot)")
    p.add_argument("--method", default="partslip", choices=list_methods(),
                   help="segmentation method (default: partslip)")
    p.add_argument("--preset", default="fast", help="render preset (default: fast)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.add_argument("--learned-count", type=int, default=2,
                   help="unlabelled generated meshes per category of the packaged learned teacher to "
                        "segment with it (default: 2; 0 skips)")
    p.add_argument("--learned-categories", nargs="+", default=None, metavar="CAT",
                   help="categories of the learned section (default: those of "
                        f"{' '.join(LEARNED_DEMO_CATEGORIES)} the packaged checkpoint knows; 'all': every "
                        "category it knows)")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from partlift.categories import check_category
    from partlift.data.synthetic import generate_collection, list_categories
    from partlift.errors import InputError
    from partlift.metrics import InstanceAP, SemanticIoU, overall
    from partlift.pipeline import Segmenter
    from partlift.sheet import write_views_sheet
    from partlift.summary import ground_truth_for
    from partlift.teachers.registry import seed_options

    if args.count < 1:
        raise InputError(f"--count: expected at least 1 shape per category, got {args.count}")
    known = list_categories()
    for cat in args.categories:
        check_category(cat)
        if cat not in known:
            raise InputError(f"demo: no shape generator for {cat!r}; generatable categories are {known}")
    if args.learned_count > 0 and args.learned_categories is not None:  # a bad name stops before any work
        learned_demo_categories(_learned_known(), args.learned_categories)
    out = Path(args.out)
    seg = Segmenter(
        teacher=args.teacher,
        method=args.method,
        preset=args.preset,
        device=args.device,
        seed=args.seed,
        teacher_options=seed_options(args.teacher, args.seed),
    )
    rows = []
    t_start = time.perf_counter()
    total = len(args.categories) * args.count
    with tqdm(total=total, desc="demo", unit="shape") as bar:
        for cat in args.categories:
            shapes = generate_collection(cat, args.count, args.seed, n_points=args.points, split="test")
            names = shapes[0].part_names
            iou, ap = SemanticIoU(names), InstanceAP(names)
            seconds = 0.0
            for i, shape in enumerate(shapes):
                bar.set_postfix_str(shape.name)
                t = time.perf_counter()
                labels = seg.segment(shape, names)
                seconds += time.perf_counter() - t
                gt_sem, gt_ins = ground_truth_for(shape, names)
                iou.add(labels.semantic, gt_sem, name=shape.name)
                ap.add(labels.semantic, labels.instance, gt_sem, gt_ins)
                if i == 0:
                    shape_dir = out / cat
                    labels.save(shape_dir, name=cat.lower())
                    write_views_sheet(shape_dir / "views.png", seg.prepare(shape),
                                      seg.predictions(shape, names), labels)
                bar.update(1)
            rows.append({
                "category": cat,
                "shapes": len(shapes),
                "miou": iou.category_miou(),
                "map50": ap.category_map(),
                "per_part": iou.per_part(),
                "seconds_per_shape": seconds / len(shapes),
            })
    elapsed = time.perf_counter() - t_start
    mean_miou = overall({r["category"]: r["miou"] for r in rows})
    mean_map = overall({r["category"]: r["map50"] for r in rows})
    atomic_write_json(out / "results.json", {
        "teacher": seg.teacher.name, "method": args.method, "preset": args.preset,
        "points": args.points, "seed": args.seed, "categories": rows,
        "overall": {"miou": mean_miou, "map50": mean_map}, "seconds": elapsed, "versions": versions(),
    })
    print(f"\npartlift demo — {args.method} with teacher {seg.teacher.name}, "
          f"{total} generated shapes of {args.points} points, preset {args.preset}\n")
    print(f"{'category':<18} {'shapes':>6} {'mIoU':>6} {'mAP50':>6} {'s/shape':>8}")
    for r in rows:
        print(f"{r['category']:<18} {r['shapes']:>6} {100 * r['miou']:>6.1f} {100 * r['map50']:>6.1f} "
              f"{r['seconds_per_shape']:>8.2f}")
    print(f"{'overall':<18} {total:>6} {100 * mean_miou:>6.1f} {100 * mean_map:>6.1f}")
    learned = learned_demo(out / "learned", args) if args.learned_count > 0 else None
    if learned:
        results = json.loads((out / "results.json").read_text())
        results["learned"] = learned
        atomic_write_json(out / "results.json", results)
    print(f"\nwrote {shown_out(args)}/ (results.json; per category: views.png, coloured PLY, per-part PLYs, "
          f"GLB{'; learned/: the unlabelled meshes, segmented' if learned else ''}) in "
          f"{time.perf_counter() - t_start:.0f} s")
    return 0


def learned_demo(out: Path, args: argparse.Namespace) -> dict | None:
    """Segment unlabelled generated meshes with the packaged learned teacher and print their mIoU.

    For each category of :func:`learned_demo_categories` (by default those of
    :data:`LEARNED_DEMO_CATEGORIES` the checkpoint knows), ``--learned-count`` meshes of the generator's "test"
    split (seeds ``shape_seed(seed, category, i, "test")``; the teacher was trained on the
    "teacher-train" split, so it never saw them) are written as ``<out>/<Category>_<i>.glb``,
    loaded back as plain meshes (no labels, no category) and segmented with ``--category``; the
    mesh's per-face labels, kept aside, score the result. None when no checkpoint is packaged.
    """
    import trimesh

    from partlift.data import synthetic
    from partlift.io import load_shape
    from partlift.metrics import SemanticIoU, overall
    from partlift.pipeline import Segmenter
    known = _learned_known()
    if not known:
        return None
    cats = learned_demo_categories(known, args.learned_categories)
    seg = Segmenter(teacher="learned", method="partslip", preset=args.preset, device=args.device,
                    seed=args.seed, teacher_options={"device": args.device})
    rows = {}
    for cat in cats:
        names = synthetic.category_parts(cat)
        iou = SemanticIoU(names)
        for i in range(args.learned_count):
            lm = synthetic.generate_mesh(cat, synthetic.shape_seed(args.seed, cat, i, "test"))
            path = out / f"{cat}_{i}.glb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(trimesh.exchange.gltf.export_glb(lm.mesh))
            shape = load_shape(path, n_points=args.points, seed=args.seed)  # unlabelled
            if len(shape.mesh.faces) != len(lm.face_semantic):
                raise RuntimeError(f"{path}: the GLB round trip changed the face count; cannot score it")
            labels = seg.segment(shape, names, category=cat)
            iou.add(labels.semantic, lm.face_semantic[shape.face_index], name=shape.name)
            if i == 0:
                labels.save(out / cat, name=cat.lower())
        rows[cat] = iou.category_miou()
    mean = overall(rows)
    print(f"\nlearned teacher ({seg.teacher.name}; a checkpoint of {len(known)} categories, {len(cats)} "
          f"shown) on unlabelled generated meshes it never saw, with partslip:")
    print("  " + "  ".join(f"{c} {100 * v:.1f}" for c, v in rows.items()) + f"  | mIoU {100 * mean:.1f}")
    return {"teacher": seg.teacher.name, "method": "partslip", "count": args.learned_count,
            "checkpoint_categories": len(known), "miou": mean, "per_category": rows}


def _learned_known() -> list[str]:
    """The packaged checkpoint's categories the generator makes ([] when none is packaged)."""
    from partlift.data.synthetic import list_categories
    from partlift.teachers.choose import learned_categories

    return [c for c in learned_categories() if c in list_categories()]


def learned_demo_categories(known: list[str] | tuple[str, ...], requested: list[str] | None = None) -> list[str]:
    """The categories of the demo's learned section, in ``known``'s order.

    Args:
        known: the categories the checkpoint knows (and the generator makes).
        requested: ``--learned-categories``: None = those of :data:`LEARNED_DEMO_CATEGORIES` it
            knows (the first 8 it knows when it knows none of them); ``["all"]`` = all of
            ``known``; else these names (matched ignoring case).

    Raises:
        InputError: a requested category the checkpoint does not know (the message lists them).
    """
    from partlift.errors import InputError
    from partlift.teachers.choose import match_category

    known = list(known)
    if requested is None:
        cats = [c for c in known if c in LEARNED_DEMO_CATEGORIES]
        return cats or known[:len(LEARNED_DEMO_CATEGORIES)]
    if [r.lower() for r in requested] == ["all"]:
        return known
    picked = []
    for name in requested:
        hit = match_category(name, known)
        if hit is None:
            raise InputError(f"demo: --learned-categories {name!r} is not a category the packaged learned teacher "
                             f"knows; it knows {', '.join(known)} (or 'all')")
        if hit not in picked:
            picked.append(hit)
    return [c for c in known if c in picked]
