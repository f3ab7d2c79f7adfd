"""PartSLIP voting with each superpoint preset, shape by shape (the evidence for the default).

    python benchmarks/superpoint_presets_voting.py --teacher simulated:zeroshot --shapes real partslip matched
    python benchmarks/superpoint_presets_voting.py --teacher simulated:fewshot --shapes synthetic partslip matched

``real``: the PartNet-E dev shapes under ``--root``; ``synthetic``: the test shapes of
``partlift bench --dataset synthetic --categories <8 categories> --count 3`` (30,000 points).
Prints per preset the mean PartNet-E shape mIoU (METHODS §1.6.1) over the shapes and each shape's
value, in the bench's shape order, through ``Segmenter(teacher, "partslip", superpoint_config=
SuperpointConfig.preset(P))`` (the same render preset, ``partslip``, and seed 0). Ground truth is
read only to score.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from partlift.bench.datasets import PartNetESet, SyntheticSet
from partlift.metrics import shape_miou
from partlift.pipeline import Segmenter
from partlift.superpoints import SuperpointConfig

CATEGORIES = ("Bottle", "Chair", "Display", "Door", "Kettle", "KitchenPot", "StorageFurniture", "Table")


def main() -> None:
    default_root = Path(__file__).resolve().parents[2] / "shared" / "data" / "partnete_real_dev"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="+", help="superpoint presets (SuperpointConfig.preset names)")
    ap.add_argument("--teacher", default="simulated:zeroshot")
    ap.add_argument("--shapes", choices=("real", "synthetic"), default="real")
    ap.add_argument("--root", default=str(default_root), help="PartNet-E root of the real shapes")
    args = ap.parse_args()
    ds = PartNetESet(args.root) if args.shapes == "real" else SyntheticSet(CATEGORIES, 3)
    shapes = [ds.load(i) for c in ds.categories() for i in ds.ids(c)]
    print(f"{len(shapes)} shapes: {' '.join(s.name for s in shapes)}")
    for preset in args.presets:
        seg = Segmenter(args.teacher, "partslip", superpoint_config=SuperpointConfig.preset(preset), cache_dir=None)
        values = [100 * shape_miou(np.asarray(seg.segment(s, category=s.category).semantic), s.semantic,
                                   len(s.part_names)) for s in shapes]
        print(f"{args.teacher} {args.shapes} {preset}: mean {np.mean(values):.1f} | "
              + " ".join(f"{v:.1f}" for v in values))


if __name__ == "__main__":
    main()
