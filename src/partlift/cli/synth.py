"""``partlift synth``: generate procedural part-labelled shapes in the PartNet-E layout."""

from __future__ import annotations

import argparse
import logging

from partlift.errors import InputError

log = logging.getLogger(__name__)

PREVIEW_MAX = 48  # shapes drawn on one preview sheet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="generate part-labelled shapes (PartNet-E layout) and a preview sheet",
        description="Generate procedural textured meshes with PartNet-E part labels, sample them to "
        "coloured point clouds and write <out>/<Category>/<id>/{pc.ply,label.npy,mesh.glb,face_labels.npy}.",
    )
    p.add_argument("--list", action="store_true", help="list the categories and their part names, then exit")
    p.add_argument("--category", action="append", metavar="NAME",
                   help="PartNet-E category to generate (repeat for several; see --list)")
    p.add_argument("--count", type=int, default=8, help="shapes per category (default: 8)")
    p.add_argument("--points", type=int, default=30000, help="points per shape (default: 30000)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default: 0)")
    p.add_argument("--split", default="collection",
                   help="split name mixed into each shape's seed, e.g. test, shots, collection (default)")
    p.add_argument("--out", metavar="DIR", help="dataset root to write the shapes to")
    p.add_argument("--realism", default="v1", choices=("v1", "v2"),
                   help="generator realism version: v1 (default, the benchmark tables' shapes) or v2 "
                   "(same shapes plus interiors, bevels, realistic materials)")
    p.add_argument("--no-mesh", action="store_true", help="write only pc.ply + label.npy (no mesh.glb)")
    p.add_argument("--preview", metavar="PNG", help="also draw the shapes coloured by part into this PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from partlift.data import synthetic

    if args.list:
        for cat in synthetic.list_categories():
            print(f"{cat}: {', '.join(synthetic.category_parts(cat))}")
        return 0
    if not args.category:
        raise InputError(
            f"synth: give --category (one of {', '.join(synthetic.list_categories())}) or --list"
        )
    if not args.out and not args.preview:
        raise InputError("synth: nothing to write; give --out DIR and/or --preview PNG")
    for cat in args.category:
        synthetic.category_parts(cat)  # unknown names fail before any work
    if args.count < 1:
        raise InputError(f"synth: --count must be >= 1, got {args.count}")

    from tqdm import tqdm

    from partlift.data.synthetic.export import export_shape, write_meta

    preview = []
    total = len(args.category) * args.count
    with tqdm(total=total, desc="synth", unit="shape", disable=None) as bar:
        for cat in args.category:
            for shape in synthetic.iter_collection(cat, args.count, args.seed, n_points=args.points,
                                                   split=args.split, realism=args.realism):
                if args.out:
                    export_shape(shape, args.out, with_mesh=not args.no_mesh)
                if args.preview and len(preview) < PREVIEW_MAX:
                    preview.append(shape)
                bar.update(1)
    if args.out:
        write_meta(args.out)
        print(f"wrote {total} shapes to {args.out}")
    if args.preview:
        from partlift.data.synthetic.preview import save_preview

        if total > PREVIEW_MAX:
            log.warning("preview shows the first %d of %d shapes", PREVIEW_MAX, total)
        save_preview(args.preview, preview)
        print(f"wrote preview {args.preview}")
    return 0
