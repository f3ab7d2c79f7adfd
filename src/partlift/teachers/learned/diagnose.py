"""How a teacher's 2D mistakes look: per-pixel label maps of its predictions and four diagnostics.

Written for issue 15's comparison of the learned teacher with the simulated profiles
(``benchmarks/learned_teacher_mistakes.py``), but nothing here is specific to one teacher: every
function takes :class:`~partlift.types.Predictions` or plain arrays.

Conventions (all arrays int64):

* a *label map* (V, H, W) gives per view pixel the part index the teacher assigns
  (:func:`label_maps`: the highest-scoring prediction whose mask — or box, for box teachers —
  covers the pixel), :data:`NONE` (-1) where no prediction covers it;
* ground-truth maps are the point labels through the views' pixel -> point maps
  (:func:`gt_maps`): part index, -1 = a point of no named part ("unlabelled"), :data:`BACKGROUND`
  (-2) where no point is seen;
* per-view point labels (V, N) (:func:`point_labels`): the majority label of the pixels a point
  owns in that view, :data:`UNSEEN` (-2) where it owns none.

Diagnostics:

* :func:`cross_view_agreement` — for points seen in >= 2 views, the fraction of view pairs that
  give the point the same label ("none" included). Ground truth scores 1 by construction;
* :func:`instance_records` + :func:`recall_by_size` — per ground-truth part instance and view,
  its visible pixels (as a fraction of the view's object pixels) and the fraction of them labelled
  with the right part; hit rate (recall >= ``hit``) and mean recall per size bin (missed small
  parts);
* :func:`confusion_matrix` + :func:`top_confusions` — pixel counts of (ground truth, predicted)
  over object pixels; part -> other part rates (confusions between parts);
* :func:`leak_rate` — the fraction of object pixels given a part whose ground truth is unlabelled
  (leaks into unlabelled regions); :func:`miss_rate` the fraction of part pixels given no part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from partlift.errors import InputError
from partlift.types import Predictions, Views

__all__ = ["NONE", "UNSEEN", "BACKGROUND", "SIZE_BINS", "label_maps", "gt_maps", "point_labels",
           "cross_view_agreement", "instance_records", "recall_by_size", "confusion_matrix",
           "top_confusions", "leak_rate", "miss_rate", "pixel_iou"]

NONE = -1
"""Label of a pixel / point no prediction covers (and of unlabelled ground truth)."""
UNSEEN = -2
"""Per-view point label of a point that owns no pixel of the view."""
BACKGROUND = -2
"""Ground-truth map value of a pixel that shows no point."""
SIZE_BINS = (0.0, 0.01, 0.05, 0.2, 1.0)
"""Edges of the instance size bins: visible pixels as a fraction of the view's object pixels."""


def label_maps(preds: Predictions, n_views: int) -> np.ndarray:
    """(V, H, W) int64 part index per pixel (:data:`NONE` where nothing is predicted).

    Predictions are painted in increasing score order, so the highest-scoring one covering a pixel
    wins (ties: the later prediction). Masks are used when present, else the boxes (the pixels
    whose centres lie inside ``x1 <= x <= x2``, ``y1 <= y <= y2``).
    """
    if not isinstance(preds, Predictions):
        raise InputError(f"label_maps: expected Predictions, got {type(preds).__name__}")
    h, w = preds.image_size
    if len(preds) and int(preds.view.max()) >= n_views:
        raise InputError(f"label_maps: a prediction on view {int(preds.view.max())} but only {n_views} views")
    out = np.full((n_views, h, w), NONE, np.int64)
    for d in np.argsort(preds.score, kind="stable"):
        v, lab = int(preds.view[d]), int(preds.label[d])
        if preds.masks is not None:
            out[v][preds.masks[d]] = lab
        else:
            x1, y1, x2, y2 = preds.boxes[d]
            c0, c1 = max(0, int(np.ceil(x1))), min(w - 1, int(np.floor(x2)))
            r0, r1 = max(0, int(np.ceil(y1))), min(h - 1, int(np.floor(y2)))
            if c0 <= c1 and r0 <= r1:
                out[v, r0:r1 + 1, c0:c1 + 1] = lab
    return out


def gt_maps(views: Views, point_label: np.ndarray) -> np.ndarray:
    """(V, H, W) int64 ``point_label`` of the point each pixel shows, :data:`BACKGROUND` elsewhere.

    Args:
        views: the rendered views (their ``pix2point``).
        point_label: (N,) int labels of the points (-1 = unlabelled).
    """
    lab = np.asarray(point_label)
    if lab.ndim != 1 or lab.shape[0] != views.n_points:
        raise InputError(f"gt_maps: expected ({views.n_points},) point labels, got shape {lab.shape}")
    p2p = views.pix2point
    return np.where(p2p >= 0, lab.astype(np.int64)[np.maximum(p2p, 0)], BACKGROUND)


def point_labels(maps: np.ndarray, pix2point: np.ndarray, n_points: int) -> np.ndarray:
    """(V, N) int64 majority label of each point's pixels per view (:data:`UNSEEN` when it owns
    none; ties go to the smaller label, "none" first).

    Args:
        maps: (V, H, W) label maps (values >= -1).
        pix2point: (V, H, W) point index per pixel, -1 = background.
        n_points: N.
    """
    maps, pix2point = np.asarray(maps), np.asarray(pix2point)
    if maps.shape != pix2point.shape or maps.ndim != 3:
        raise InputError(f"point_labels: maps {maps.shape} and pix2point {pix2point.shape} must be equal (V, H, W)")
    if maps.size and maps.min() < NONE:
        raise InputError("point_labels: label maps hold values >= -1 only")
    k = int(maps.max()) + 2 if maps.size else 1  # labels -1.. shifted to 0..
    out = np.full((maps.shape[0], n_points), UNSEEN, np.int64)
    for v in range(maps.shape[0]):
        fg = pix2point[v] >= 0
        pts = pix2point[v][fg]
        counts = np.zeros((n_points, k), np.int64)
        np.add.at(counts, (pts, maps[v][fg] + 1), 1)
        seen = counts.sum(axis=1) > 0
        out[v, seen] = counts[seen].argmax(axis=1) - 1
    return out


def cross_view_agreement(labels: np.ndarray, subset: np.ndarray | None = None) -> dict[str, Any]:
    """Label agreement between views for points seen in >= 2 views.

    Args:
        labels: (V, N) per-view point labels (:data:`UNSEEN` = not seen in that view).
        subset: (N,) bool, the points to count (None = all).

    Returns:
        ``{"points", "pairs", "agreeing", "agreement"}``: points seen in >= 2 views, view pairs
        over them, pairs giving the same label, and ``agreeing / pairs`` (None when no pair).
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise InputError(f"cross_view_agreement: expected (V, N) labels, got shape {labels.shape}")
    if subset is not None:
        labels = labels[:, np.asarray(subset, bool)]
    seen = labels != UNSEEN
    k = int(labels.max()) + 2 if labels.size else 1
    counts = np.zeros((labels.shape[1], max(k, 1)), np.int64)
    cols = np.arange(labels.shape[1])
    for v in range(labels.shape[0]):
        s = seen[v]
        counts[cols[s], labels[v, s] + 1] += 1
    n = counts.sum(axis=1)
    multi = n >= 2
    pairs = int((n[multi] * (n[multi] - 1) // 2).sum())
    agreeing = int((counts[multi] * (counts[multi] - 1) // 2).sum())
    return {"points": int(multi.sum()), "pairs": pairs, "agreeing": agreeing,
            "agreement": agreeing / pairs if pairs else None}


def instance_records(pred_map: np.ndarray, sem_map: np.ndarray, ins_map: np.ndarray) -> list[dict[str, Any]]:
    """One record per ground-truth part instance visible in one view.

    Args:
        pred_map: (H, W) predicted labels (-1 = none).
        sem_map: (H, W) ground-truth part per pixel (-1 unlabelled, :data:`BACKGROUND`).
        ins_map: (H, W) ground-truth instance id per pixel (-1 = none); an instance is a distinct
            (part, instance id) pair, so a part without instance ids counts as one instance.

    Returns:
        ``[{"part", "pixels", "fraction", "recall"}]``: its part index, visible pixels, those as
        a fraction of the view's object pixels, and the fraction of them predicted as its part.
    """
    pred_map, sem_map, ins_map = (np.asarray(a) for a in (pred_map, sem_map, ins_map))
    if not (pred_map.shape == sem_map.shape == ins_map.shape) or pred_map.ndim != 2:
        raise InputError(f"instance_records: expected three equal (H, W) maps, got {pred_map.shape}, "
                         f"{sem_map.shape}, {ins_map.shape}")
    obj = int((sem_map != BACKGROUND).sum())
    part = sem_map >= 0
    if not part.any():
        return []
    keys = np.stack([sem_map[part], ins_map[part]], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    size = np.bincount(inv, minlength=len(uniq))
    right = np.bincount(inv, weights=(pred_map[part] == sem_map[part]).astype(np.float64), minlength=len(uniq))
    return [{"part": int(uniq[i, 0]), "pixels": int(size[i]), "fraction": float(size[i] / obj),
             "recall": float(right[i] / size[i])} for i in range(len(uniq))]


def recall_by_size(records: Sequence[dict[str, Any]], bins: Sequence[float] = SIZE_BINS,
                   hit: float = 0.5) -> list[dict[str, Any]]:
    """Per size bin ``[lo, hi)`` (the last bin includes ``hi``): ``{"lo", "hi", "instances",
    "hit_rate", "recall"}`` — instances whose ``fraction`` falls in the bin, the share of them
    with ``recall >= hit``, and their mean recall (None for an empty bin)."""
    edges = [float(b) for b in bins]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise InputError(f"recall_by_size: bins must be >= 2 increasing edges, got {list(bins)}")
    frac = np.array([r["fraction"] for r in records], np.float64)
    rec = np.array([r["recall"] for r in records], np.float64)
    out = []
    for i, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False)):
        last = i == len(edges) - 2
        sel = (frac >= lo) & ((frac <= hi) if last else (frac < hi))
        n = int(sel.sum())
        out.append({"lo": lo, "hi": hi, "instances": n,
                    "hit_rate": float(np.mean(rec[sel] >= hit)) if n else None,
                    "recall": float(np.mean(rec[sel])) if n else None})
    return out


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> np.ndarray:
    """(C+1, C+1) int64 counts: row = ground truth, column = prediction, index 0 = "none" /
    unlabelled (-1), index c+1 = part c. Background (:data:`BACKGROUND`) pixels are left out.

    Args:
        pred: predicted labels in [-1, C), any shape.
        gt: ground-truth labels in {-2} U [-1, C), same shape.
        n_parts: C.
    """
    pred, gt = np.asarray(pred).ravel(), np.asarray(gt).ravel()
    if pred.shape != gt.shape:
        raise InputError(f"confusion_matrix: {pred.size} predicted and {gt.size} ground-truth labels")
    keep = gt != BACKGROUND
    p, g = pred[keep], gt[keep]
    for name, a in (("predicted", p), ("ground-truth", g)):
        if a.size and (a.min() < -1 or a.max() >= n_parts):
            raise InputError(f"confusion_matrix: {name} labels must lie in [-1, {n_parts}), got "
                             f"[{a.min()}, {a.max()}]")
    k = n_parts + 1
    return np.bincount((g + 1) * k + (p + 1), minlength=k * k).reshape(k, k).astype(np.int64)


def top_confusions(matrix: np.ndarray, names: Sequence[str], k: int = 5,
                   min_rate: float = 0.0) -> list[dict[str, Any]]:
    """The ``k`` largest part -> other part confusions of a :func:`confusion_matrix`:
    ``[{"gt", "pred", "rate", "pixels"}]`` with ``rate`` = pixels of part ``gt`` predicted as
    ``pred`` / all pixels of ``gt``; sorted by rate (then pixels), rates <= ``min_rate`` dropped."""
    m = np.asarray(matrix)
    if m.shape != (len(names) + 1, len(names) + 1):
        raise InputError(f"top_confusions: a {m.shape} matrix for {len(names)} part names")
    rows = []
    for g in range(len(names)):
        total = int(m[g + 1].sum())
        for p in range(len(names)):
            if p != g and total and m[g + 1, p + 1] > 0:
                rate = float(m[g + 1, p + 1] / total)
                if rate > min_rate:
                    rows.append({"gt": names[g], "pred": names[p], "rate": rate, "pixels": int(m[g + 1, p + 1])})
    rows.sort(key=lambda r: (-r["rate"], -r["pixels"], r["gt"], r["pred"]))
    return rows[:k]


def leak_rate(matrix: np.ndarray) -> float | None:
    """Of the pixels predicted as some part, the fraction whose ground truth is unlabelled."""
    m = np.asarray(matrix)
    predicted = int(m[:, 1:].sum())
    return float(m[0, 1:].sum() / predicted) if predicted else None


def miss_rate(matrix: np.ndarray) -> float | None:
    """Of the ground-truth part pixels, the fraction predicted as no part."""
    m = np.asarray(matrix)
    parts = int(m[1:].sum())
    return float(m[1:, 0].sum() / parts) if parts else None


def pixel_iou(matrix: np.ndarray) -> list[float | None]:
    """Per part, IoU of its predicted and ground-truth pixels (None when both are empty)."""
    m = np.asarray(matrix)
    out = []
    for c in range(1, m.shape[0]):
        union = int(m[c].sum() + m[:, c].sum() - m[c, c])
        out.append(float(m[c, c] / union) if union else None)
    return out
