"""Direct loop transcription of PartSLIP voting and instance grouping (METHODS §2.3–2.5).

The parity oracle of :mod:`partlift.lifting.voting` and :mod:`partlift.lifting.instances`: it
loops over superpoints x views x boxes, and over superpoint pairs, as the released PartSLIP code
does, and shares no computation with the vectorised path (only input validation and settings).
Slow by design; use it for tests and for ``partlift speed vote``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from partlift.boxes import box_iou
from partlift.lifting.instances import _check_sp_labels, _check_xyz
from partlift.lifting.voting import (
    PartslipResult,
    SuperpointVotes,
    VoteConfig,
    _check_config,
    _check_part_names,
    _check_superpoints,
    _check_views_predictions,
    priority_order,
)
from partlift.types import Predictions, Views

__all__ = [
    "vote_superpoints_reference",
    "label_superpoints_reference",
    "group_instances_reference",
    "partslip_labels_reference",
]


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    """2D IoU of two xyxy boxes (:func:`partlift.boxes.box_iou`); 0 when the union is empty."""
    return float(box_iou(a, b))


def _inside(xy: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """(n,) bool: points strictly inside the box."""
    return (xy[:, 0] > box[0]) & (xy[:, 0] < box[2]) & (xy[:, 1] > box[1]) & (xy[:, 1] < box[3])


def _aabb(xy: np.ndarray) -> tuple[float, float, float, float]:
    return (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))


def _box(preds: Predictions, d: int) -> tuple[float, float, float, float]:
    return tuple(float(t) for t in preds.boxes[d])  # type: ignore[return-value]


def _kept_boxes(views: Views, preds: Predictions, config: VoteConfig) -> np.ndarray:
    """§2.3: a box with >= whole_object_ratio of all N points strictly inside is dropped."""
    n = views.n_points
    kept = np.ones(len(preds), bool)
    for d in range(len(preds)):
        xy = views.screen_xy[preds.view[d]]
        frac = int(_inside(xy, _box(preds, d)).sum()) / n
        if frac >= config.whole_object_ratio:
            kept[d] = False
    return kept


def _members(superpoints: np.ndarray) -> list[np.ndarray]:
    """Point indices of each superpoint id 0..max (ascending), as the superpoint step lists them."""
    m = int(superpoints.max()) + 1
    order = np.argsort(superpoints, kind="stable")
    counts = np.bincount(superpoints, minlength=m)
    return np.split(order, np.cumsum(counts)[:-1])


def _relative_sizes(views: Views, preds: Predictions, kept: np.ndarray) -> np.ndarray:
    values: dict[int, list[float]] = {}
    for d in range(len(preds)):
        if not kept[d]:
            continue
        v = preds.view[d]
        xy = views.screen_xy[v][views.visible[v]]
        if len(xy) == 0:
            continue
        o = _aabb(xy)
        area = (o[2] - o[0]) * (o[3] - o[1])
        if area <= 0:
            continue
        b = _box(preds, d)
        iw = min(b[2], o[2]) - max(b[0], o[0])
        ih = min(b[3], o[3]) - max(b[1], o[1])
        values.setdefault(int(preds.label[d]), []).append(max(iw, 0.0) * max(ih, 0.0) / area)
    out = np.full(len(preds.part_names), np.inf)
    for j, vals in values.items():
        out[j] = float(np.median(vals))
    return out


def vote_superpoints_reference(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    config: VoteConfig | None = None,
) -> SuperpointVotes:
    """Loop version of :func:`partlift.lifting.voting.vote_superpoints`."""
    config = _check_config(config)
    _check_views_predictions(views, preds)
    spts = _check_superpoints(superpoints, views.n_points)
    kept = _kept_boxes(views, preds, config)
    members = _members(spts)
    c = len(preds.part_names)
    scores = np.zeros((len(members), c))
    visible_count = np.zeros(len(members), np.int64)
    for k, pts in enumerate(members):
        numer = [0] * c
        denom = 0
        for v in range(views.n_views):
            vis = pts[views.visible[v, pts]]
            if len(vis) == 0:
                continue
            denom += len(vis)
            xy = views.screen_xy[v, vis]
            box_k = _aabb(xy)
            covered = np.zeros((len(vis), c), bool)
            for d in range(len(preds)):
                if preds.view[d] != v or not kept[d]:
                    continue
                box = _box(preds, d)
                if config.aabb_zero_area_quirk and _iou(box_k, box) < config.aabb_iou_eps:
                    continue
                covered[:, preds.label[d]] |= _inside(xy, box)
            for j in range(c):
                numer[j] += int(covered[:, j].sum())
        visible_count[k] = denom
        for j in range(c):
            scores[k, j] = numer[j] / (denom + config.vote_eps)
    return SuperpointVotes(
        scores=scores,
        visible_count=visible_count,
        n_points=np.array([len(p) for p in members], np.int64),
        kept=kept,
        relative_size=_relative_sizes(views, preds, kept),
        part_names=tuple(preds.part_names),
    )


def label_superpoints_reference(
    scores: np.ndarray,
    part_names: Sequence[str],
    config: VoteConfig | None = None,
    *,
    relative_size: np.ndarray | None = None,
) -> np.ndarray:
    """Loop version of :func:`partlift.lifting.voting.label_superpoints`."""
    config = _check_config(config)
    prio = priority_order(part_names, config, relative_size)
    thr = config.vote_threshold
    labels = np.full(scores.shape[0], -1, np.int64)
    for k in range(scores.shape[0]):
        row = [float(s) for s in scores[k]]
        if not row or max(row) < thr:
            continue
        label = -1
        for j in prio:
            if row[j] >= thr:
                label = j
                break
        if label < 0:
            label = 0
            for j in range(1, len(row)):
                if row[j] > row[label]:
                    label = j
        labels[k] = label
    return labels


def _group_reference(
    views: Views,
    preds: Predictions,
    spts: np.ndarray,
    sp_labels: np.ndarray,
    xyz: np.ndarray,
    kept: np.ndarray,
    config: VoteConfig,
) -> np.ndarray:
    members = _members(spts)
    m = len(members)
    lo = [xyz[p].min(axis=0) if len(p) else None for p in members]
    hi = [xyz[p].max(axis=0) if len(p) else None for p in members]
    sp_inst = np.full(m, -1, np.int64)
    next_id = 0
    for j in range(len(preds.part_names)):
        sps = [k for k in range(m) if sp_labels[k] == j and len(members[k])]
        if not sps:
            continue
        # Coverage vectors over the kept boxes of part j, in prediction order (§2.5 step 1).
        cover: dict[int, list[float]] = {}
        for k in sps:
            r = []
            for d in range(len(preds)):
                if preds.label[d] != j or not kept[d]:
                    continue
                v = preds.view[d]
                pts = members[k]
                vis = pts[views.visible[v, pts]]
                if len(vis) == 0:
                    r.append(-1.0)
                    continue
                xy = views.screen_xy[v, vis]
                box = _box(preds, d)
                if config.aabb_zero_area_quirk and _iou(_aabb(xy), box) < config.aabb_iou_eps:
                    r.append(0.0)
                    continue
                r.append(int(_inside(xy, box).sum()) / len(vis))
            cover[k] = r
        # Union-find over adjacent, similar, comparable-size pairs (§2.5 steps 2-3).
        parent = {k: k for k in sps}

        def find(k: int, parent: dict[int, int] = parent) -> int:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        for a_i, k in enumerate(sps):
            for q in sps[a_i + 1 :]:
                gap = max(float(np.max(lo[k] - hi[q])), float(np.max(lo[q] - hi[k])))
                if not gap < config.adjacency:
                    continue
                sk = sq = sd = 0.0
                for rk, rq in zip(cover[k], cover[q], strict=True):
                    if rk >= 0 and rq >= 0:
                        sk += rk
                        sq += rq
                        sd += abs(rk - rq)
                dis = 1.0 if max(sk, sq) < config.dis_eps else sd / max(sk, sq)
                nk, nq = len(members[k]), len(members[q])
                if dis < config.merge_distance and max(nk, nq) / min(nk, nq) < config.merge_size_ratio:
                    ra, rb = find(k), find(q)
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
        groups: dict[int, list[int]] = {}
        for k in sps:
            groups.setdefault(find(k), []).append(k)
        # Instance filter over all part-j boxes, filtered ones included (§2.5 step 4).
        for group in sorted(groups.values(), key=min):
            pts = np.concatenate([members[k] for k in group])
            keep = False
            for v in range(views.n_views):
                vis = pts[views.visible[v, pts]]
                if len(vis) == 0:
                    continue
                box_g = _aabb(views.screen_xy[v, vis])
                for d in range(len(preds)):
                    if preds.view[d] == v and preds.label[d] == j:
                        if _iou(box_g, _box(preds, d)) > config.instance_iou:
                            keep = True
            if keep:
                for k in group:
                    sp_inst[k] = next_id
                next_id += 1
    return sp_inst


def group_instances_reference(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    sp_labels: np.ndarray,
    xyz: np.ndarray,
    config: VoteConfig | None = None,
) -> np.ndarray:
    """Loop version of :func:`partlift.lifting.instances.group_instances`."""
    config = _check_config(config)
    _check_views_predictions(views, preds)
    spts = _check_superpoints(superpoints, views.n_points)
    xyz64 = _check_xyz(xyz, views.n_points)
    labels = _check_sp_labels(sp_labels, int(spts.max()) + 1, len(preds.part_names))
    kept = _kept_boxes(views, preds, config)
    return _group_reference(views, preds, spts, labels, xyz64, kept, config)[spts]


def partslip_labels_reference(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    xyz: np.ndarray,
    part_names: Sequence[str] | None = None,
    config: VoteConfig | None = None,
) -> PartslipResult:
    """Loop version of :func:`partlift.lifting.instances.partslip_labels`."""
    config = _check_config(config)
    _check_views_predictions(views, preds)
    names = _check_part_names(part_names, preds)
    spts = _check_superpoints(superpoints, views.n_points)
    xyz64 = _check_xyz(xyz, views.n_points)
    votes = vote_superpoints_reference(views, preds, spts, config)
    sp_labels = label_superpoints_reference(
        votes.scores, names, config, relative_size=votes.relative_size
    )
    sp_inst = _group_reference(views, preds, spts, sp_labels, xyz64, votes.kept, config)
    return PartslipResult(
        semantic=sp_labels[spts],
        instance=sp_inst[spts],
        scores=votes.scores[spts].astype(np.float32),
    )
