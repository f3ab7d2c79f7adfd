"""How well superpoints respect ground-truth parts: purity and the labelling upper bound.

Every distinct label value is a class, ``-1`` ("no part" / "no instance") included, so a
superpoint mixing a part with unlabelled points is impure. Ties between equally frequent labels
in a superpoint go to the smallest label value.
"""

from __future__ import annotations

import numpy as np

from partlift.errors import InputError

__all__ = ["majority_labels", "purity", "superpoint_miou_bound", "superpoint_upper_bound"]


def _check(superpoints: np.ndarray, labels: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    sp_ = np.asarray(superpoints)
    lab = np.asarray(labels)
    for name, arr in (("superpoints", sp_), ("labels", lab)):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise InputError(f"{where}: {name} must be a (N,) integer array, got shape {arr.shape} dtype {arr.dtype}")
    if len(sp_) != len(lab):
        raise InputError(
            f"{where}: {len(sp_)} superpoint ids but {len(lab)} labels; give one of each per point"
        )
    if len(sp_) == 0:
        raise InputError(f"{where}: expected at least one point, got 0")
    if sp_.min() < 0:
        raise InputError(f"{where}: superpoint ids must be >= 0, got {int(sp_.min())}")
    return sp_.astype(np.int64), lab.astype(np.int64)


def _majority(sp_: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Superpoint ids present (S,), their majority label (S,) and its count (S,)."""
    values, lab_idx = np.unique(lab, return_inverse=True)
    n_lab = len(values)
    pairs, counts = np.unique(sp_ * n_lab + lab_idx.reshape(-1), return_counts=True)
    sp_of, lab_of = pairs // n_lab, pairs % n_lab
    order = np.lexsort((lab_of, -counts, sp_of))  # per superpoint: most frequent, then smallest label
    first = np.ones(len(order), dtype=bool)
    first[1:] = sp_of[order][1:] != sp_of[order][:-1]
    pick = order[first]
    return sp_of[pick], values[lab_of[pick]], counts[pick]


def majority_labels(superpoints: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Majority label of every superpoint.

    Args:
        superpoints: (N,) int superpoint id per point, >= 0.
        labels: (N,) int ground-truth label per point (-1 allowed, counted as a class).

    Returns:
        (M,) int64, M = max id + 1; ids with no point get -1.
    """
    sp_, lab = _check(superpoints, labels, "majority_labels")
    ids, maj, _ = _majority(sp_, lab)
    out = np.full(int(sp_.max()) + 1, -1, dtype=np.int64)
    out[ids] = maj
    return out


def purity(superpoints: np.ndarray, labels: np.ndarray) -> float:
    """Share of points whose superpoint's majority label equals their own label, in [0, 1].

    Args:
        superpoints: (N,) int superpoint id per point, >= 0.
        labels: (N,) int ground-truth label per point (-1 counted as a class).
    """
    sp_, lab = _check(superpoints, labels, "purity")
    _, _, counts = _majority(sp_, lab)
    return float(counts.sum() / len(lab))


def superpoint_upper_bound(superpoints: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) int64: every point labelled with its superpoint's majority label.

    This is the best any method that gives one label per superpoint can do (an oracle voting);
    scoring it against ``labels`` gives the cap that the superpoints put on the metric.
    """
    sp_, lab = _check(superpoints, labels, "superpoint_upper_bound")
    return majority_labels(sp_, lab)[sp_]


def superpoint_miou_bound(superpoints: np.ndarray, semantic: np.ndarray, n_parts: int) -> float:
    """PartNet-E semantic mIoU (METHODS §1.6.1) of :func:`superpoint_upper_bound` for one shape.

    Args:
        superpoints: (N,) int superpoint ids.
        semantic: (N,) int ground-truth part ids in -1..n_parts-1.
        n_parts: number of part names of the category.
    """
    from partlift.metrics import shape_miou

    bound = superpoint_upper_bound(superpoints, semantic)
    return float(shape_miou(bound, np.asarray(semantic, dtype=np.int64), n_parts))
