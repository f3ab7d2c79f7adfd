"""The (view, superpoint, box) incidence pass shared by PartSLIP voting and instance grouping
(METHODS §2.3–2.5), the whole-object box filter and the input checks of both. The settings are
:class:`partlift.lifting.config.VoteConfig`.

Import the public names from :mod:`partlift.lifting.voting` and :mod:`partlift.lifting.instances`.

Shapes: ``V`` views, ``N`` points, ``M = superpoints.max() + 1`` superpoints (ids need not all be
used; an unused id behaves as a never-visible superpoint), ``D`` predictions, ``C`` part names.
Voting uses the predictions' boxes (``Predictions.boxes``); masks are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from partlift.boxes import box_iou
from partlift.errors import InputError
from partlift.lifting.config import VoteConfig
from partlift.types import Predictions, Views

logger = logging.getLogger(__name__)

# whole_object_boxes screens boxes on every this-many-th point before counting exactly.
_WHOLE_STRIDE = 8

# Straddling (box, superpoint) pairs are tested in chunks of about this many point tests.
_CHUNK_TESTS = 1 << 21


@dataclass(frozen=True, eq=False)
class _Incidence:
    """Per (view, superpoint, box) quantities shared by voting and instance grouping.

    Attributes:
        n_points: (M,) int64 points per superpoint.
        kept: (D,) bool boxes surviving the whole-object filter.
        vis_count: (V, M) int64 visible points of superpoint k in view v.
        aabb: (V, M, 4) float64 xyxy 2D bounding box of those points (+inf/-inf when none).
        box_count: (D, M) int32 visible points of k strictly inside kept box d (0 for dropped d).
        eligible: (D, M) bool, kept box d may give superpoint k votes: k is seen in the box's
            view, not surely outside it, and not skipped by the IoU shortcut
            (``aabb_zero_area_quirk``). Where False, k has no point inside d or d gives none.
        votes: (M, C) int64 vote numerators (None when not requested).
    """

    n_points: np.ndarray
    kept: np.ndarray
    vis_count: np.ndarray
    aabb: np.ndarray
    box_count: np.ndarray
    eligible: np.ndarray
    votes: np.ndarray | None


# --------------------------------------------------------------------------- validation


def _check_superpoints(superpoints: object, n_points: int) -> np.ndarray:
    if not isinstance(superpoints, np.ndarray) or superpoints.ndim != 1:
        raise InputError(
            f"superpoints: expected a (N,) integer array of superpoint ids with N = {n_points}, "
            f"got {type(superpoints).__name__} of shape {getattr(superpoints, 'shape', None)}"
        )
    if superpoints.dtype.kind not in "iu":
        raise InputError(f"superpoints: expected integer ids, got dtype {superpoints.dtype}")
    if superpoints.shape[0] != n_points:
        raise InputError(
            f"superpoints: expected one id per point ({n_points} points in the views), "
            f"got {superpoints.shape[0]}; compute superpoints on the rendered point cloud"
        )
    if n_points and superpoints.min() < 0:
        raise InputError(
            f"superpoints: expected ids >= 0, got {int(superpoints.min())}; give every point a "
            "superpoint (a singleton superpoint is fine)"
        )
    return superpoints.astype(np.int64, copy=False)


def _check_views_predictions(views: object, preds: object) -> None:
    if not isinstance(views, Views):
        raise InputError(f"views: expected partlift.types.Views, got {type(views).__name__}")
    if not isinstance(preds, Predictions):
        raise InputError(f"predictions: expected partlift.types.Predictions, got {type(preds).__name__}")
    if tuple(preds.image_size) != views.image_size:
        raise InputError(
            f"predictions were made on {tuple(preds.image_size)} images but the views are "
            f"{views.image_size}; boxes must be in the views' screen pixels"
        )
    if len(preds):
        if preds.view.min() < 0 or preds.view.max() >= views.n_views:
            raise InputError(
                f"predictions: view indices must lie in [0, {views.n_views}), got range "
                f"[{int(preds.view.min())}, {int(preds.view.max())}]"
            )
        boxes = preds.boxes
        if not np.isfinite(boxes).all():
            raise InputError("predictions: boxes contain NaN or infinite coordinates")
        if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
            raise InputError(
                "predictions: boxes must be x1, y1, x2, y2 with x2 >= x1 and y2 >= y1; "
                "convert x, y, w, h boxes with x2 = x + w, y2 = y + h"
            )
    # min and max propagate NaN and show infinities, without an (V, N, 2) temporary.
    if views.screen_xy.size and not (
        np.isfinite(views.screen_xy.min()) and np.isfinite(views.screen_xy.max())
    ):
        raise InputError("views.screen_xy: contains NaN or infinite positions")


def _check_part_names(part_names: Sequence[str] | None, preds: Predictions) -> tuple[str, ...]:
    if part_names is None:
        return tuple(preds.part_names)
    names = tuple(part_names)
    if len(names) != len(preds.part_names):
        raise InputError(
            f"part_names: expected the {len(preds.part_names)} names the predictions were made "
            f"for {list(preds.part_names)}, got {len(names)}: {list(names)}"
        )
    return names


# --------------------------------------------------------------------------- geometry


def _min_whole_count(n: int, ratio: float) -> int:
    """Smallest count c with ``c / n >= ratio`` (float division), n + 1 if there is none."""
    c = int(np.ceil(ratio * n))
    while c > 0 and (c - 1) / n >= ratio:
        c -= 1
    while c <= n and c / n < ratio:
        c += 1
    return c


def _whole_object(views: Views, preds: Predictions, boxes: np.ndarray, ratio: float) -> np.ndarray:
    """(len(boxes),) bool: which of the predictions ``boxes`` hold at least ``ratio`` of all N
    projected points (visible or not) strictly inside (§2.3), counted point by point."""
    n = views.n_points
    out = np.zeros(boxes.size, bool)
    for i, d in enumerate(boxes):
        xy = views.screen_xy[preds.view[d]]
        x1, y1, x2, y2 = preds.boxes[d]
        inside = (xy[:, 0] > x1) & (xy[:, 0] < x2) & (xy[:, 1] > y1) & (xy[:, 1] < y2)
        out[i] = np.count_nonzero(inside) / n >= ratio
    return out


def whole_object_boxes(views: Views, preds: Predictions, ratio: float) -> np.ndarray:
    """(D,) bool: True for boxes holding at least ``ratio`` of all N projected points (§2.3).

    Points count whether visible or not, strictly inside (``x1 < x < x2``, ``y1 < y < y2``);
    exact. Boxes are first screened on every 8th point: a box holding ``c`` of the N points holds
    at least ``c - (N - n_sub)`` of the ``n_sub`` subset points, which order statistics of the
    subset's x and y rule out for most boxes; the rest are counted point by point. (Voting gets
    the same answer from its own, cheaper bound: :func:`_kept`.)
    """
    d, n = len(preds), views.n_points
    out = np.zeros(d, bool)
    need = _min_whole_count(n, ratio) if n else 1
    if d == 0 or need > n:
        return out
    cand = np.ones(d, bool)
    sub = views.screen_xy[:, ::_WHOLE_STRIDE]
    need_sub = need - (n - sub.shape[1])
    if need_sub >= 1:
        lo, hi = sub.shape[1] - need_sub, need_sub - 1
        for v in np.unique(preds.view):
            ds = np.flatnonzero(preds.view == v)
            px = np.partition(sub[v, :, 0], sorted({lo, hi}))
            py = np.partition(sub[v, :, 1], sorted({lo, hi}))
            b = preds.boxes[ds]
            # >= need_sub subset points with x > x1  <=>  x1 < the lo-th smallest subset x, etc.
            cand[ds] = (b[:, 0] < px[lo]) & (b[:, 2] > px[hi]) & (b[:, 1] < py[lo]) & (b[:, 3] > py[hi])
    idx = np.flatnonzero(cand)
    out[idx] = _whole_object(views, preds, idx, ratio)
    return out


def _box_relations(
    a: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], boxes: np.ndarray, config: VoteConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relations of superpoint 2D boxes to prediction boxes, each (B, M) bool.

    Args:
        a: x1, y1, x2, y2 (B, M) float64 of each superpoint's visible points in each box's view
            (+inf/-inf where none: such a superpoint is outside every box).
        boxes: (B, 4) float64 xyxy.

    Returns:
        ``full``: every point of the superpoint is strictly inside the box (its bounding box is);
        ``straddle``: some may be, test point by point (neither full nor surely outside);
        ``eligible``: the box may give the superpoint votes: full or straddling, and not skipped
        by the IoU shortcut (``aabb_zero_area_quirk``).
    """
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = (boxes[:, i, None] for i in range(4))
    full = (bx1 < ax1) & (ax2 < bx2) & (by1 < ay1) & (ay2 < by2)
    outside = (ax2 <= bx1) | (ax1 >= bx2) | (ay2 <= by1) | (ay1 >= by2)
    full &= ~outside  # an unseen superpoint (+inf/-inf box) passes the first test
    straddle = ~(full | outside)
    eligible = ~outside
    if config.aabb_zero_area_quirk:
        i, k = np.nonzero(eligible)
        corners = np.stack([c[i, k] for c in a], axis=-1)
        eligible[i, k] = box_iou(corners, boxes[i]) >= config.aabb_iou_eps
    return full, straddle, eligible


def _pair_hits(
    x: np.ndarray,
    y: np.ndarray,
    key: np.ndarray,
    n_keys: int,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    n_labels: int,
    *,
    with_votes: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Point-by-point tests of (box, group of points) pairs.

    The points are grouped by key once (radix sort); each pair then tests exactly the points of
    its group, all pairs of a chunk in one flat array.

    Args:
        x, y: (S,) float32 screen positions of the points.
        key: (S,) int64 group of each point, in [0, n_keys) (here: view * M + superpoint).
        pairs: (P,) int64 group, (P, 4) float32 box xyxy, (P,) int64 box label, (P,) bool
            eligible for voting. Every group named by a pair has at least one point.
        n_labels: number of labels.

    Returns:
        (P,) int64 points of each pair's group strictly inside its box, and (with_votes)
        (n_labels, n_keys) int64 points of each group inside some eligible box of each label.
        A point inside several boxes of one label counts once: where one (label, group) has
        several eligible pairs, their hits are merged point by point.
    """
    pair_key, pair_box, pair_label, pair_elig = pairs
    p, s = pair_key.size, x.size
    counts = np.zeros(p, np.int64)
    # Radix sort (uint16) when the keys fit; the order within a group does not matter.
    order = np.argsort(key.astype(np.uint16) if n_keys <= 1 << 16 else key, kind="stable")
    per_key = np.bincount(key, minlength=n_keys)
    first = np.cumsum(per_key) - per_key
    n_tests = per_key[pair_key]
    label_key = pair_label * n_keys + pair_key
    shared = np.zeros(p, bool)
    if with_votes and p:
        _, inv, cnt = np.unique(label_key[pair_elig], return_inverse=True, return_counts=True)
        shared[pair_elig] = cnt[inv] > 1
    shared_hits = []
    chunk = np.cumsum(n_tests) // _CHUNK_TESTS
    for lo, hi in zip(*_runs(chunk), strict=True):
        n = n_tests[lo:hi]
        offset = np.cumsum(n) - n
        pair = np.repeat(np.arange(n.size), n)
        pos = order[first[pair_key[lo:hi]][pair] + np.arange(pair.size) - offset[pair]]
        b = np.take(np.ascontiguousarray(pair_box[lo:hi].T), pair, axis=1)  # (4, T)
        xs, ys = x[pos], y[pos]
        inside = (xs > b[0]) & (xs < b[2]) & (ys > b[1]) & (ys < b[3])
        counts[lo:hi] = np.add.reduceat(inside, offset, dtype=np.int64)
        if shared[lo:hi].any():
            hit = inside & shared[lo:hi][pair]
            shared_hits.append(label_key[lo:hi][pair[hit]] * s + pos[hit])
    if not with_votes:
        return counts, None
    covered = np.zeros(n_labels * n_keys, np.int64)
    single = pair_elig & ~shared  # the only eligible pair of its (label, group)
    covered[label_key[single]] = counts[single]
    if shared_hits:
        covered += np.bincount(np.unique(np.concatenate(shared_hits)) // s, minlength=covered.size)
    return counts, covered.reshape(n_labels, n_keys)


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end indices of the runs of equal values in the non-decreasing (P,) ``keys``."""
    if keys.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.r_[starts[1:], keys.size]


def _relations(
    planes: np.ndarray, preds: Predictions, config: VoteConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_box_relations` of every box with every superpoint in its view, (D, M) bool each,
    computed in blocks of boxes. ``planes``: (4, V, M) superpoint 2D boxes per view."""
    d, m = preds.view.size, planes.shape[2]
    full = np.zeros((d, m), bool)
    straddle = np.zeros((d, m), bool)
    eligible = np.zeros((d, m), bool)
    boxes = preds.boxes.astype(np.float64)
    block = max(1, _CHUNK_TESTS // max(m, 1))
    for lo in range(0, d, block):
        rows = slice(lo, min(d, lo + block))
        v = preds.view[rows]
        a = tuple(planes[i][v] for i in range(4))
        full[rows], straddle[rows], eligible[rows] = _box_relations(a, boxes[rows], config)
    return full, straddle, eligible


def _kept(
    views: Views, preds: Predictions, near: np.ndarray, vis_count: np.ndarray, ratio: float
) -> np.ndarray:
    """(D,) bool: boxes that survive the whole-object filter (§2.3), exactly.

    A box holds at most the visible points of the superpoints it does not exclude (``near``,
    (D, M) bool) plus every point not visible in its view; only boxes whose bound reaches the
    filter are counted point by point.
    """
    n = views.n_points
    kept = np.ones(preds.view.size, bool)
    need = _min_whole_count(n, ratio)
    if need > n or kept.size == 0:
        return kept
    hidden = n - vis_count.sum(axis=1)[preds.view]
    bound = vis_count[preds.view].sum(axis=1, where=near) + hidden
    cand = np.flatnonzero(bound >= need)
    kept[cand] = ~_whole_object(views, preds, cand, ratio)
    return kept


def _incidence(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    config: VoteConfig,
    *,
    with_votes: bool = True,
) -> _Incidence:
    """All per (view, superpoint, box) quantities of §2.3–2.5, vectorised over all views at once.

    The (view, visible point) pairs are keyed by (view, superpoint); counts and 2D boxes per key
    are scatter reductions. A box's relation to each superpoint's 2D box in its view then settles
    most (box, superpoint) pairs without touching points (fully inside: all visible points count;
    outside: none); only the points of superpoints straddling a box edge are tested one by one.
    """
    n_views, n = views.n_views, views.n_points
    m = int(superpoints.max()) + 1
    vm = n_views * m
    n_points = np.bincount(superpoints, minlength=m).astype(np.int64)
    d, c = len(preds), len(preds.part_names)

    flat = np.flatnonzero(views.visible)  # (view, point) pairs, view-major
    view_of = flat // n
    key = view_of * m + superpoints[flat - view_of * n]
    xy = views.screen_xy.reshape(n_views * n, 2)
    x, y = xy[flat, 0], xy[flat, 1]
    vis_flat = np.bincount(key, minlength=vm)
    # Scatter in the points' own float32 (numpy's fast ufunc.at path; min/max are exact).
    planes = np.empty((4, vm), x.dtype)
    planes[:2] = np.inf
    planes[2:] = -np.inf
    np.minimum.at(planes[0], key, x)
    np.minimum.at(planes[1], key, y)
    np.maximum.at(planes[2], key, x)
    np.maximum.at(planes[3], key, y)
    planes = planes.astype(np.float64).reshape(4, n_views, m)
    vis_count = vis_flat.reshape(n_views, m)

    full, straddle, eligible = _relations(planes, preds, config)
    kept = _kept(views, preds, full | straddle, vis_count, config.whole_object_ratio)
    full[~kept] = False
    straddle[~kept] = False
    eligible[~kept] = False
    box_count = np.where(full, vis_count[preds.view], 0).astype(np.int32)
    votes = np.zeros((m, c), np.int64) if with_votes else None
    # Points of the (view, superpoint)s that straddle some box: the only ones tested.
    pi, pk = np.nonzero(straddle)
    if pi.size:
        pair_key = preds.view[pi] * m + pk
        sel = np.zeros(vm, bool)
        sel[pair_key] = True
        pts = np.flatnonzero(sel[key])
        pairs = (pair_key, preds.boxes[pi], preds.label[pi], eligible[pi, pk])
        counts, covered = _pair_hits(x[pts], y[pts], key[pts], vm, pairs, c, with_votes=with_votes)
        box_count[pi, pk] += counts.astype(np.int32)
    elif with_votes:
        covered = np.zeros((c, vm), np.int64)
    if with_votes:
        # Per (part, view, superpoint): all visible points if an eligible box of the part holds
        # them all, else those inside some eligible straddling box of the part.
        fi, fk = np.nonzero(full & eligible)
        full_any = np.zeros((c, vm), bool)
        full_any[preds.label[fi], preds.view[fi] * m + fk] = True
        per_view = np.where(full_any, vis_flat, covered).reshape(c, n_views, m)
        votes[:] = per_view.sum(axis=1).T

    logger.debug(
        "incidence: %d views, %d superpoints, %d boxes (%d dropped as whole-object)",
        n_views,
        m,
        d,
        int((~kept).sum()),
    )
    aabb = np.moveaxis(planes, 0, -1)  # (V, M, 4)
    return _Incidence(n_points, kept, vis_count, aabb, box_count, eligible, votes)


