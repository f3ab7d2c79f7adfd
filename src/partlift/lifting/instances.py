"""PartSLIP instance grouping (METHODS §2.5).

Per part j, superpoints labelled j are merged by union-find: two merge when their 3D bounding
boxes are adjacent, their box-coverage vectors are close and their sizes comparable. Each merged
set is a candidate instance, kept iff its 2D bounding box matches some box of part j in some view.

Vectorised: adjacency is tested for all pairs of a part's superpoints at once (in row blocks),
coverage vectors are a dense (superpoints x kept boxes of j) array, the distance sums run left to
right with ``cumsum`` (the summation order of the loop reference, so distances are bit-identical
and ties at the threshold agree), the union-find is one connected-components pass over the merge
graph of all parts, and the instance filter compares every candidate with every box of its part.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from partlift.boxes import box_iou
from partlift.errors import InputError
from partlift.lifting.config import VoteConfig, _check_config
from partlift.lifting.incidence import (
    _check_superpoints,
    _check_views_predictions,
    _Incidence,
    _incidence,
)
from partlift.types import Predictions, Views

__all__ = ["group_instances", "superpoint_boxes_3d"]

logger = logging.getLogger(__name__)

# Adjacency and merge tests run in blocks of at most this many (pair, entry) elements.
_PAIR_BLOCK = 1 << 21


def _check_xyz(xyz: object, n_points: int) -> np.ndarray:
    if not isinstance(xyz, np.ndarray) or xyz.shape != (n_points, 3) or xyz.dtype.kind != "f":
        raise InputError(
            f"xyz: expected a ({n_points}, 3) float array (unit-sphere frame), got "
            f"{type(xyz).__name__} of shape {getattr(xyz, 'shape', None)}"
        )
    if not np.isfinite(xyz).all():
        raise InputError("xyz: contains NaN or infinite coordinates")
    return xyz.astype(np.float64)


def superpoint_boxes_3d(xyz: np.ndarray, superpoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3D axis-aligned bounding boxes of the superpoints: (lo (M, 3), hi (M, 3)) float64.

    ``xyz`` (N, 3) float, ``superpoints`` (N,) int64 >= 0, M = max + 1. An unused id gets
    lo = +inf, hi = -inf (adjacent to nothing).
    """
    m = int(superpoints.max()) + 1
    lo = np.full((m, 3), np.inf)
    hi = np.full((m, 3), -np.inf)
    for a in range(3):
        coord = np.asarray(xyz[:, a], np.float64)
        np.minimum.at(lo[:, a], superpoints, coord)
        np.maximum.at(hi[:, a], superpoints, coord)
    return lo, hi


def _adjacent_pairs(lo: np.ndarray, hi: np.ndarray, adjacency: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (a < b) whose boxes' gap ``max(max(lo_a - hi_b), max(lo_b - hi_a))`` < adjacency.

    ``lo``, ``hi``: (K, 3) float64 box corners. Tested in blocks of rows against the later rows.
    """
    k = lo.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    block = max(1, _PAIR_BLOCK // max(k, 1))
    for start in range(0, k, block):
        a = np.arange(start, min(k, start + block))
        b = np.arange(start, k)
        ok = b[None, :] > a[:, None]
        for ax in range(3):
            ok &= (lo[a, ax, None] - hi[None, b, ax]) < adjacency
            ok &= (lo[None, b, ax] - hi[a, ax, None]) < adjacency
        r, c = np.nonzero(ok)
        rows.append(a[r])
        cols.append(b[c])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _coverage_vectors(
    inc: _Incidence, preds: Predictions, members: np.ndarray, j: int
) -> np.ndarray:
    """(M_j, B_j) float64 coverage vectors r_k over the kept boxes of part j (prediction order).

    -1 where k has no visible point in the box's view; 0 where the IoU shortcut skips the box
    (``aabb_zero_area_quirk``); else the fraction of k's visible points inside the box.
    """
    cols = np.flatnonzero(inc.kept & (preds.label == j))
    n = inc.vis_count[preds.view[cols]][:, members].T  # (M_j, B_j)
    c = inc.box_count[cols][:, members].T
    el = inc.eligible[cols][:, members].T
    frac = c / np.maximum(n, 1)
    return np.where(n == 0, -1.0, np.where(el, frac, 0.0))


def _merge_pairs(
    r: np.ndarray, sizes: np.ndarray, pa: np.ndarray, pb: np.ndarray, config: VoteConfig
) -> np.ndarray:
    """(P,) bool: pairs (pa, pb) of rows of the coverage vectors ``r`` to merge (§2.5 step 3).

    The sums over the entries both vectors see run left to right (``cumsum``), the order of the
    loop reference, so that distances are bit-identical and ties at ``merge_distance`` agree.
    """
    merge = np.zeros(pa.size, bool)
    if r.shape[1] == 0:
        return merge  # no kept box of the part: distance 1 for every pair
    block = max(1, _PAIR_BLOCK // r.shape[1])
    for lo in range(0, pa.size, block):
        ia, ib = pa[lo : lo + block], pb[lo : lo + block]
        a, b = r[ia], r[ib]
        valid = (a >= 0) & (b >= 0)
        sa = np.cumsum(np.where(valid, a, 0.0), axis=1)[:, -1]
        sb = np.cumsum(np.where(valid, b, 0.0), axis=1)[:, -1]
        sd = np.cumsum(np.where(valid, np.abs(a - b), 0.0), axis=1)[:, -1]
        denom = np.maximum(sa, sb)
        dis = np.ones(ia.size)
        np.divide(sd, denom, out=dis, where=denom >= config.dis_eps)
        big = np.maximum(sizes[ia], sizes[ib])
        small = np.minimum(sizes[ia], sizes[ib])
        merge[lo : lo + block] = (dis < config.merge_distance) & (big / small < config.merge_size_ratio)
    return merge


def _candidate_kept(
    inc: _Incidence,
    preds: Predictions,
    members: np.ndarray,
    comp: np.ndarray,
    cand_label: np.ndarray,
    config: VoteConfig,
) -> np.ndarray:
    """(K,) bool: candidates whose 2D box in some view has IoU > instance_iou with a box of their
    part in that view, among all boxes, whole-object ones included (§2.5 step 4).

    ``members`` (L,) superpoints, ``comp`` (L,) their candidate in 0..K-1, ``cand_label`` (K,).
    """
    n_comp = cand_label.size
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(n_comp))
    a = inc.aabb[:, members[order]]  # (V, L, 4), +inf/-inf where unseen
    cand = np.concatenate(
        [np.minimum.reduceat(a[..., :2], starts, axis=1), np.maximum.reduceat(a[..., 2:], starts, axis=1)],
        axis=-1,
    )  # (V, K, 4); an unseen candidate has IoU 0 with every box
    keep = np.zeros(n_comp, bool)
    for j in np.unique(cand_label):
        bj = np.flatnonzero(preds.label == j)
        cj = np.flatnonzero(cand_label == j)
        if bj.size:
            iou = box_iou(cand[preds.view[bj]][:, cj], preds.boxes[bj][:, None, :])  # (B_j, K_j)
            keep[cj] = (iou > config.instance_iou).any(axis=0)
    return keep


def _group(
    inc: _Incidence,
    preds: Predictions,
    sp_labels: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    config: VoteConfig,
) -> np.ndarray:
    """(M,) int64 instance id per superpoint, -1 = none."""
    out = np.full(sp_labels.shape[0], -1, np.int64)
    labelled = np.flatnonzero((sp_labels >= 0) & (inc.n_points > 0))  # ascending
    if labelled.size == 0:
        return out
    lab = sp_labels[labelled]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for j in np.unique(lab):
        idx = np.flatnonzero(lab == j)
        members = labelled[idx]
        pa, pb = _adjacent_pairs(lo[members], hi[members], config.adjacency)
        if pa.size:
            r = _coverage_vectors(inc, preds, members, int(j))
            merge = _merge_pairs(r, inc.n_points[members], pa, pb, config)
            rows.append(idx[pa[merge]])
            cols.append(idx[pb[merge]])
    edges = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, int),) * 2
    graph = sp.csr_matrix((np.ones(edges[0].size, np.int8), edges), shape=(lab.size,) * 2)
    _, comp = connected_components(graph, directed=False)  # merges never cross parts
    # Candidates ordered by part, then by their smallest superpoint (labelled is ascending).
    _, first, comp = np.unique(comp, return_index=True, return_inverse=True)
    order = np.lexsort((first, lab[first]))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    comp = rank[comp]
    cand_label = lab[first[order]]
    keep = _candidate_kept(inc, preds, labelled, comp, cand_label, config)
    ids = np.full(keep.size, -1, np.int64)
    ids[keep] = np.arange(int(keep.sum()))
    out[labelled] = ids[comp]
    logger.debug(
        "grouping: %d labelled superpoints, %d merges, %d candidates, %d kept",
        labelled.size,
        edges[0].size,
        keep.size,
        int(keep.sum()),
    )
    return out


def _check_sp_labels(sp_labels: object, m: int, c: int) -> np.ndarray:
    if not isinstance(sp_labels, np.ndarray) or sp_labels.shape != (m,) or sp_labels.dtype.kind not in "iu":
        raise InputError(
            f"sp_labels: expected an ({m},) integer array (one label per superpoint id "
            f"0..{m - 1}), got {type(sp_labels).__name__} of shape {getattr(sp_labels, 'shape', None)}"
        )
    if m and (sp_labels.min() < -1 or sp_labels.max() >= c):
        raise InputError(
            f"sp_labels: expected labels in [-1, {c}) for {c} parts, got range "
            f"[{int(sp_labels.min())}, {int(sp_labels.max())}]"
        )
    return sp_labels.astype(np.int64, copy=False)


def group_instances(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    sp_labels: np.ndarray,
    xyz: np.ndarray,
    config: VoteConfig | None = None,
) -> np.ndarray:
    """(N,) int64 PartSLIP instance id per point (§2.5); -1 = unlabelled or dropped.

    Args:
        views: the rendering (``screen_xy`` (V, N, 2), ``visible`` (V, N)).
        preds: the box predictions the labels were voted from (D boxes xyxy screen px).
        superpoints: (N,) int superpoint id per point, >= 0; M = max + 1.
        sp_labels: (M,) int part label per superpoint, -1 = unlabelled.
        xyz: (N, 3) float points, unit-sphere frame (adjacency is 0.02 in these units).
        config: grouping settings (defaults: PartSLIP's).

    Instance ids are consecutive over parts: part ascending, then candidates by their smallest
    superpoint id; a dropped candidate keeps its semantic label and gets instance -1.
    """
    config = _check_config(config)
    _check_views_predictions(views, preds)
    spts = _check_superpoints(superpoints, views.n_points)
    xyz64 = _check_xyz(xyz, views.n_points)
    inc = _incidence(views, preds, spts, config, with_votes=False)
    labels = _check_sp_labels(sp_labels, inc.n_points.shape[0], len(preds.part_names))
    lo, hi = superpoint_boxes_3d(xyz64, spts)
    return _group(inc, preds, labels, lo, hi, config)[spts]
