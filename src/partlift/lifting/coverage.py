"""Lift 2D predictions to points: the coverage matrix K (METHODS §1.2, §6; DESIGN §2).

``K[d, p] = 1`` iff point ``p`` is visible in the view of prediction ``d`` and its screen position
``(x, y) = views.screen_xy[view(d), p]`` lies inside the prediction's region:

* ``region="box"``: strictly inside the box, ``x1 < x < x2`` and ``y1 < y < y2`` (PartSLIP's
  test on continuous screen coordinates; a point exactly on an edge is outside).
* ``region="mask"``: ``mask[floor(y), floor(x)]`` with ``0 <= floor(y) < H`` and
  ``0 <= floor(x) < W`` (PartSTAD's SAM-mask test; out-of-image positions are outside). Note that
  pixel ``(r, c)`` covers ``[c - 0.5, c + 0.5)`` in the screen frame (see :mod:`partlift.types`),
  so this PartSTAD convention reads the mask half a pixel up and left of the point; it is kept for
  parity with the released code.

:func:`coverage` is the fast path; :func:`coverage_dense_reference` is the slow, obviously
correct loop it is tested against. :func:`whole_object_fraction` gives PartSLIP's whole-object
box statistic (METHODS §2.3).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from partlift.errors import InputError
from partlift.types import Coverage, Predictions, Views

__all__ = ["REGIONS", "coverage", "coverage_dense_reference", "whole_object_fraction"]

REGIONS: tuple[str, ...] = ("box", "mask")
"""Region kinds a prediction can be lifted with."""

_CHUNK_ELEMENTS = 1 << 22
"""Largest (predictions x points) boolean block evaluated at once (~4 MB), bounding memory."""


def _check_inputs(views: Views, preds: Predictions, region: str) -> None:
    if not isinstance(views, Views):
        raise InputError(f"coverage: expected views to be a partlift.types.Views, got {type(views).__name__}")
    if not isinstance(preds, Predictions):
        raise InputError(
            f"coverage: expected preds to be a partlift.types.Predictions, got {type(preds).__name__}"
        )
    if region not in REGIONS:
        raise InputError(f"coverage: expected region to be one of {list(REGIONS)}, got {region!r}")
    if len(preds) and (preds.view.min() < 0 or preds.view.max() >= views.n_views):
        raise InputError(
            f"coverage: prediction views must index the {views.n_views} rendered views, got range "
            f"[{int(preds.view.min())}, {int(preds.view.max())}]; predictions and views must "
            "come from the same rendering"
        )
    if tuple(preds.image_size) != views.image_size:
        raise InputError(
            f"coverage: predictions were made on {tuple(preds.image_size)} images but the views are "
            f"{views.image_size}; predict on these views (or re-render at the same size)"
        )
    if region == "mask" and preds.masks is None:
        raise InputError(
            f"coverage: region='mask' needs predictions with masks, but teacher "
            f"{preds.teacher or '(unnamed)'} gave boxes only; use region='box' or a mask teacher "
            "(e.g. '<teacher>+sam')"
        )


def _view_groups(preds: Predictions) -> list[tuple[int, np.ndarray]]:
    """``[(view, prediction indices in increasing order)]`` for every view that has predictions."""
    if len(preds) == 0:
        return []
    order = np.argsort(preds.view, kind="stable")
    cuts = np.flatnonzero(np.diff(preds.view[order])) + 1
    return [(int(preds.view[g[0]]), g) for g in np.split(order, cuts)]


def _box_hits(boxes: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the True entries of ``x1 < x < x2 & y1 < y < y2`` over (boxes, points).

    A direct (boxes x points) comparison: measured 3x faster than sorting the points by x and
    scanning each box's x-slab, at PartSLIP sizes (30 boxes x 30k visible points: 4 ms vs 12 ms).
    Evaluated in blocks of at most :data:`_CHUNK_ELEMENTS`; rows and columns come back sorted
    row-major (np.nonzero order).
    """
    rows, cols = [], []
    step = max(1, _CHUNK_ELEMENTS // max(1, xy.shape[0]))
    x, y = xy[:, 0][None, :], xy[:, 1][None, :]
    for s in range(0, boxes.shape[0], step):
        b = boxes[s : s + step]
        inside = (x > b[:, 0:1]) & (x < b[:, 2:3]) & (y > b[:, 1:2]) & (y < b[:, 3:4])
        r, c = np.nonzero(inside)
        rows.append(r + s)
        cols.append(c)
    return np.concatenate(rows), np.concatenate(cols)


def _mask_hits(
    masks: np.ndarray, pred_idx: np.ndarray, pixel: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(row into ``pred_idx``, col into ``pixel``) of the True ``masks[pred_idx[r]].flat[pixel[c]]``."""
    flat = masks.reshape(masks.shape[0], -1)
    rows, cols = [], []
    step = max(1, _CHUNK_ELEMENTS // max(1, pixel.shape[0]))
    for s in range(0, pred_idx.shape[0], step):
        idx = pred_idx[s : s + step]
        hit = flat[idx[:, None], pixel[None, :]]
        r, c = np.nonzero(hit)
        rows.append(r + s)
        cols.append(c)
    return np.concatenate(rows), np.concatenate(cols)


def coverage(views: Views, preds: Predictions, *, region: str = "box") -> Coverage:
    """The sparse coverage matrix of ``preds`` over the points of ``views`` (METHODS §1.2, §6).

    Args:
        views: the rendering the predictions were made on (N points, V views, H x W pixels).
        preds: D predictions; ``preds.view`` indexes ``views``.
        region: ``"box"`` (strictly inside the box) or ``"mask"`` (``mask[floor(y), floor(x)]``).

    Returns:
        :class:`~partlift.types.Coverage` with a (D, N) uint8 CSR matrix (sorted indices, no
        explicit zeros). Only visible points of a prediction's view can be covered.

    Raises:
        InputError: mismatched views / predictions, unknown region, or ``"mask"`` without masks.
    """
    _check_inputs(views, preds, region)
    n_pred, n_pts = len(preds), views.n_points
    h, w = views.image_size
    row_parts: list[np.ndarray] = []
    col_parts: list[np.ndarray] = []
    for v, idx in _view_groups(preds):
        pts = np.flatnonzero(views.visible[v])
        if pts.size == 0:
            continue
        xy = views.screen_xy[v, pts]
        if region == "box":
            r, c = _box_hits(preds.boxes[idx], xy)
            row_parts.append(idx[r])
            col_parts.append(pts[c])
        else:
            fx = np.floor(xy[:, 0]).astype(np.int64)
            fy = np.floor(xy[:, 1]).astype(np.int64)
            inb = (fx >= 0) & (fx < w) & (fy >= 0) & (fy < h)
            if not inb.any():
                continue
            r, c = _mask_hits(preds.masks, idx, fy[inb] * w + fx[inb])
            row_parts.append(idx[r])
            col_parts.append(pts[inb][c])
    if row_parts:
        rows = np.concatenate(row_parts)
        cols = np.concatenate(col_parts)
    else:
        rows = cols = np.zeros(0, np.int64)
    # Each prediction's entries are contiguous with increasing columns (np.nonzero is row-major),
    # but predictions of different views interleave: a stable sort by row restores CSR order
    # (5x cheaper than a lexsort on (row, col)).
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(n_pred + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_pred), out=indptr[1:])
    matrix = sp.csr_matrix(
        (np.ones(rows.size, np.uint8), cols.astype(np.int64), indptr), shape=(n_pred, n_pts)
    )
    matrix.has_sorted_indices = True
    return Coverage(matrix=matrix, region=region)


def coverage_dense_reference(views: Views, preds: Predictions, *, region: str = "box") -> Coverage:
    """Slow, obviously correct loop version of :func:`coverage` (tests only; same result)."""
    _check_inputs(views, preds, region)
    h, w = views.image_size
    dense = np.zeros((len(preds), views.n_points), np.uint8)
    for d in range(len(preds)):
        v = int(preds.view[d])
        x1, y1, x2, y2 = (float(t) for t in preds.boxes[d])
        for p in range(views.n_points):
            if not views.visible[v, p]:
                continue
            x, y = float(views.screen_xy[v, p, 0]), float(views.screen_xy[v, p, 1])
            if region == "box":
                inside = x1 < x < x2 and y1 < y < y2
            else:
                c, r = int(np.floor(x)), int(np.floor(y))
                inside = 0 <= r < h and 0 <= c < w and bool(preds.masks[d, r, c])
            if inside:
                dense[d, p] = 1
    return Coverage(matrix=sp.csr_matrix(dense), region=region)


def whole_object_fraction(views: Views, preds: Predictions) -> np.ndarray:
    """(D,) float64: fraction of ALL N points (visible or not) strictly inside each box.

    PartSLIP ignores a box for semantic voting when this is >= 0.98 (METHODS §2.3); the threshold
    lives with the voting settings, not here.
    """
    _check_inputs(views, preds, "box")
    out = np.zeros(len(preds), np.float64)
    n = views.n_points
    for v, idx in _view_groups(preds):
        xy = views.screen_xy[v]
        step = max(1, _CHUNK_ELEMENTS // max(1, n))
        x, y = xy[:, 0][None, :], xy[:, 1][None, :]
        for s in range(0, idx.size, step):
            sel = idx[s : s + step]
            b = preds.boxes[sel]
            inside = (x > b[:, 0:1]) & (x < b[:, 2:3]) & (y > b[:, 1:2]) & (y < b[:, 3:4])
            out[sel] = inside.sum(axis=1) / n
    return out
