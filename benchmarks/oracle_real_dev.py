"""Oracle ceiling on the real dev shapes: PartSLIP box voting vs mask voting vs superpoint bound.

    python benchmarks/oracle_real_dev.py [--root ../shared/data/partnete_real_dev] [--preset partslip]

Prints, per shape, the mIoU of ``simulated:oracle`` through the Segmenter with PartSLIP box
voting (the default, ``partlift segment SHAPE --teacher simulated:oracle``), the same with mask
regions (``--vote-region mask``), the superpoint upper bound (each superpoint labelled with its
majority ground-truth label), the superpoint purity and the number of superpoints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from partlift.data.partnete import PartNetEDataset
from partlift.lifting.voting import VoteConfig
from partlift.metrics import SemanticIoU
from partlift.pipeline import Segmenter
from partlift.summary import ground_truth_for
from partlift.superpoints.purity import purity, superpoint_upper_bound


def main() -> None:
    default_root = Path(__file__).resolve().parents[2] / "shared" / "data" / "partnete_real_dev"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root))
    ap.add_argument("--preset", default="partslip")
    args = ap.parse_args()
    ds = PartNetEDataset(args.root)
    boxes = Segmenter(teacher="simulated:oracle", preset=args.preset)
    masks = Segmenter(teacher="simulated:oracle", preset=args.preset, vote_config=VoteConfig(region="mask"))
    print(f"{'shape':<24} {'boxes':>6} {'masks':>6} {'sp-bound':>8} {'purity':>7} {'superpoints':>11}")
    rows = []
    for sid in ds.shape_ids():
        shape = ds.load(sid)
        names = shape.part_names
        gt, _ = ground_truth_for(shape, names)
        sp = boxes.prepare(shape).superpoints
        bound = superpoint_upper_bound(sp, gt)
        row = []
        for pred in (boxes.segment(shape).semantic, masks.segment(shape).semantic, bound):
            acc = SemanticIoU(names)
            acc.add(pred, gt)
            row.append(100 * acc.category_miou())
        rows.append(row)
        print(f"{sid:<24} {row[0]:>6.1f} {row[1]:>6.1f} {row[2]:>8.1f} {purity(sp, gt):>7.3f} {int(sp.max()) + 1:>11}")
    mean = np.mean(rows, axis=0)
    print(f"{'mean':<24} {mean[0]:>6.1f} {mean[1]:>6.1f} {mean[2]:>8.1f}")


if __name__ == "__main__":
    main()
