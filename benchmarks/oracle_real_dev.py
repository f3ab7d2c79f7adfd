"""Oracle ceiling on the real dev shapes: PartSLIP box voting vs mask voting vs superpoint bound.

    python benchmarks/oracle_real_dev.py [--root ../shared/data/partnete_real_dev] [--preset fast]

Prints, per shape, the mIoU of ``simulated:oracle`` with PartSLIP box voting (the default
pipeline), the same visibility-normalised vote with the oracle's masks as regions, and the
superpoint upper bound (each superpoint labelled with its majority ground-truth label).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from partlift.data.partnete import PartNetEDataset
from partlift.lifting.coverage import coverage
from partlift.metrics import SemanticIoU
from partlift.pipeline import Segmenter
from partlift.summary import ground_truth_for


def mask_vote_labels(prepared, preds, threshold: float = 0.5) -> np.ndarray:
    """PartSLIP's visibility-normalised vote (METHODS §6) with mask regions, no priority rule."""
    cov = coverage(prepared.views, preds, region="mask").matrix.tocoo()
    n_views = prepared.views.n_views
    n_parts = len(preds.part_names)
    sp = prepared.superpoints
    m = int(sp.max()) + 1
    key = np.unique((cov.col.astype(np.int64) * n_views + preds.view[cov.row]) * n_parts + preds.label[cov.row])
    point, part = key // (n_views * n_parts), key % n_parts
    num = np.zeros((m, n_parts))
    np.add.at(num, (sp[point], part), 1)
    den = np.bincount(sp, weights=prepared.views.visible.sum(0), minlength=m)
    score = num / (den[:, None] + 1e-6)
    return np.where(score.max(1) >= threshold, score.argmax(1), -1)[sp]


def main() -> None:
    default_root = Path(__file__).resolve().parents[2] / "shared" / "data" / "partnete_real_dev"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root))
    ap.add_argument("--preset", default="fast")
    args = ap.parse_args()
    ds = PartNetEDataset(args.root)
    seg = Segmenter(teacher="simulated:oracle", preset=args.preset)
    print(f"{'shape':<24} {'boxes':>6} {'masks':>6} {'sp-bound':>8} {'superpoints':>11}")
    for sid in ds.shape_ids():
        shape = ds.load(sid)
        names = shape.part_names
        labels = seg.segment(shape)
        prepared = seg.prepare(shape)
        gt, _ = ground_truth_for(shape, names)
        sp = prepared.superpoints
        counts = np.zeros((int(sp.max()) + 1, len(names) + 1), np.int64)
        np.add.at(counts, (sp, gt + 1), 1)
        bound = counts.argmax(1)[sp] - 1
        row = []
        for pred in (labels.semantic, mask_vote_labels(prepared, seg.predictions(shape, names)), bound):
            acc = SemanticIoU(names)
            acc.add(pred, gt)
            row.append(100 * acc.category_miou())
        print(f"{sid:<24} {row[0]:>6.1f} {row[1]:>6.1f} {row[2]:>8.1f} {int(sp.max()) + 1:>11}")


if __name__ == "__main__":
    main()
