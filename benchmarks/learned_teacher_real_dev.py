"""The learned teacher on the real dev shapes: 2D IoU of its class maps and 3D mIoU of PartSLIP.

    python benchmarks/learned_teacher_real_dev.py --teacher teacher.safetensors \
        [--root ../shared/data/partnete_real_dev] [--preset partslip] [--vote-region mask]
        [--method partdistill-tta --mode pixel] [--compare simulated:zeroshot] [--no-3d]

For every real dev shape whose category the checkpoint knows: the 2D IoU per part of the
network's class maps on the shape's 10 views (ground truth = the point labels through the same
pixel -> point maps, at the teacher's working resolution; :func:`evaluate_shapes`), and, unless
``--no-3d``, the 3D PartNet-E mIoU of ``partlift segment <shape> --teacher learned:<file>``
(PartSLIP box voting) with the shape's own part names. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from partlift.data.partnete import PartNetEDataset
from partlift.teachers.learned.checkpoint import load_checkpoint
from partlift.teachers.learned.evaluate import evaluate_shapes, format_report


def main() -> None:
    default_root = Path(__file__).resolve().parents[2] / "shared" / "data" / "partnete_real_dev"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", required=True, help="learned-teacher checkpoint (.safetensors)")
    ap.add_argument("--root", default=str(default_root))
    ap.add_argument("--preset", default="partslip")
    ap.add_argument("--method", default="partslip", help="partslip, partdistill-tta, ...")
    ap.add_argument("--mode", default="mask", choices=("mask", "box", "pixel"),
                    help="learned teacher output mode (pixel: PartDistill's P-VLM role)")
    ap.add_argument("--vote-region", default="box", choices=("box", "mask"),
                    help="PartSLIP voting region (box: PartSLIP; mask: the teacher's masks)")
    ap.add_argument("--compare", nargs="*", default=[],
                    help="other teachers to run through the same 3D path, e.g. simulated:zeroshot")
    ap.add_argument("--no-3d", action="store_true")
    args = ap.parse_args()
    model, vocab, _ = load_checkpoint(args.teacher)
    ds = PartNetEDataset(args.root)
    shapes = [s for s in (ds.load(sid) for sid in ds.shape_ids()) if s.category in vocab.categories]
    if not shapes:
        raise SystemExit(f"no real dev shape of {vocab.categories} under {args.root}")
    t = time.perf_counter()
    rep = evaluate_shapes(model, vocab, shapes, preset=args.preset)
    print(format_report(rep))
    for name, miou in rep["shapes"].items():
        print(f"  {name}: 2D mIoU {100 * miou:.1f}" if miou is not None else f"  {name}: n/a")
    out = {"2d": rep, "2d_seconds": time.perf_counter() - t}
    if not args.no_3d:
        from partlift.lifting.voting import VoteConfig
        from partlift.pipeline import Segmenter
        from partlift.summary import segmentation_summary

        out["3d"] = {}
        for teacher in [f"learned:{args.teacher}", *args.compare]:
            options = {"mode": args.mode} if teacher.startswith("learned") else {}
            seg = Segmenter(teacher=teacher, method=args.method, preset=args.preset, teacher_options=options,
                            vote_config=VoteConfig(region=args.vote_region))
            rows = out["3d"][teacher] = {}
            for shape in shapes:
                t = time.perf_counter()
                labels = seg.segment(shape, shape.part_names)
                miou = segmentation_summary(shape, labels).get("miou")
                rows[shape.name] = {"miou": miou, "seconds": time.perf_counter() - t,
                                    "n_predictions": labels.meta.get("n_predictions")}
                how = f"{args.method}, {args.vote_region} voting" if args.method == "partslip" else args.method
                print(f"  {teacher} {shape.name}: 3D mIoU ({how}) "
                      f"{'n/a' if miou is None else f'{100 * miou:.1f}'} ({time.perf_counter() - t:.0f}s)")
            vals = [r["miou"] for r in rows.values() if r["miou"] is not None]
            print(f"  {teacher}: mean 3D mIoU {100 * sum(vals) / max(1, len(vals)):.1f} over {len(vals)} shapes")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
