"""PartSLIP semantic voting: whole-object box filter, visibility-normalised superpoint votes and
the thresholded, small-part-first labelling (METHODS §2.3–2.4, §6 "PartSLIP vote"), and
:func:`partslip_labels`, the whole PartSLIP lifting step (votes, labels, instances §2.5).

Everything is computed from one pass over the (view, visible point, box) incidences
(:func:`partlift.lifting.incidence._incidence`), vectorised per view: per (superpoint, view)
counts and 2D bounding boxes are scatter reductions, a box's relation to each superpoint's 2D
box settles most (box, superpoint) pairs at once (fully inside / outside), and only the points
of superpoints straddling a box edge are tested one by one. :mod:`partlift.lifting.reference`
holds a direct loop transcription of the same rules; the tests check that both agree exactly.

Shapes: ``V`` views, ``N`` points, ``M = superpoints.max() + 1`` superpoints (ids need not all be
used; an unused id behaves as a never-visible superpoint), ``D`` predictions, ``C`` part names.
Voting uses the predictions' boxes (``Predictions.boxes``) by default; with
``VoteConfig(region="mask")`` the vote numerators count mask membership instead (partlift's
option, see :class:`VoteConfig`), everything else unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from partlift.errors import InputError
from partlift.lifting.config import PARTSLIP_SMALL_PARTS, PRIORITY_MODES, VoteConfig, _check_config
from partlift.lifting.incidence import (
    _check_part_names,
    _check_superpoints,
    _check_views_predictions,
    _Incidence,
    _incidence,
    whole_object_boxes,
)
from partlift.lifting.instances import _check_xyz, _group, superpoint_boxes_3d
from partlift.types import Predictions, Views

__all__ = [
    "PARTSLIP_SMALL_PARTS",
    "PRIORITY_MODES",
    "VoteConfig",
    "SuperpointVotes",
    "PartslipResult",
    "vote_superpoints",
    "label_superpoints",
    "priority_order",
    "relative_part_sizes",
    "whole_object_boxes",
    "partslip_labels",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SuperpointVotes:
    """PartSLIP votes per superpoint (METHODS §2.4).

    Attributes:
        scores: (M, C) float64 ``s_{j,k}``: (visible point, view) pairs of superpoint k covered by
            a kept box of part j, over all (visible point, view) pairs of k plus ``vote_eps``; 0
            for a superpoint never visible. Kept in float64 so that thresholding matches PartSLIP.
        visible_count: (M,) int64 number of (visible point, view) pairs of each superpoint.
        n_points: (M,) int64 number of points of each superpoint.
        kept: (D,) bool, False for the boxes dropped by the whole-object filter (§2.3).
        relative_size: (C,) float64 relative 2D size of each part (:func:`relative_part_sizes`),
            inf for a part without kept boxes.
        part_names: the C part names.
    """

    scores: np.ndarray
    visible_count: np.ndarray
    n_points: np.ndarray
    kept: np.ndarray
    relative_size: np.ndarray
    part_names: tuple[str, ...]

    @property
    def n_superpoints(self) -> int:
        return int(self.scores.shape[0])


class PartslipResult(NamedTuple):
    """Per-point result of PartSLIP lifting (:func:`partslip_labels`).

    Attributes:
        semantic: (N,) int64 part index, -1 = unlabelled.
        instance: (N,) int64 instance id, consecutive over parts (part ascending, then instances
            by their smallest superpoint id); -1 = unlabelled or dropped by the instance filter.
        scores: (N, C) float32 the vote scores of each point's superpoint.
    """

    semantic: np.ndarray
    instance: np.ndarray
    scores: np.ndarray


def _scores(inc: _Incidence, config: VoteConfig) -> tuple[np.ndarray, np.ndarray]:
    """(M, C) float64 scores and (M,) int64 visible counts from the incidence."""
    visible_count = inc.vis_count.sum(axis=0)
    denom = visible_count.astype(np.float64) + config.vote_eps
    return inc.votes.astype(np.float64) / denom[:, None], visible_count


def _relative_sizes(inc: _Incidence, preds: Predictions) -> np.ndarray:
    """(C,) median over a part's kept boxes of area(box ∩ object box) / area(object box)."""
    c = len(preds.part_names)
    obj = np.concatenate([inc.aabb[..., :2].min(axis=1), inc.aabb[..., 2:].max(axis=1)], axis=1)
    obj_area = (obj[:, 2] - obj[:, 0]) * (obj[:, 3] - obj[:, 1])  # (V,), inf if nothing seen
    out = np.full(c, np.inf)
    if len(preds) == 0:
        return out
    b = preds.boxes.astype(np.float64)
    o = obj[preds.view]
    iw = np.minimum(b[:, 2], o[:, 2]) - np.maximum(b[:, 0], o[:, 0])
    ih = np.minimum(b[:, 3], o[:, 3]) - np.maximum(b[:, 1], o[:, 1])
    area = obj_area[preds.view]
    ok = inc.kept & np.isfinite(area) & (area > 0)
    rel = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    for j in np.unique(preds.label[ok]):
        sel = ok & (preds.label == j)
        out[j] = float(np.median(rel[sel] / area[sel]))
    return out


# --------------------------------------------------------------------------- public API


def vote_superpoints(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    config: VoteConfig | None = None,
) -> SuperpointVotes:
    """Visibility-normalised PartSLIP votes of every superpoint for every part (§2.3–2.4).

    Args:
        views: the rendering (uses ``screen_xy`` (V, N, 2) and ``visible`` (V, N)).
        preds: box predictions on those views (boxes (D, 4) xyxy screen px).
        superpoints: (N,) int superpoint id per point, >= 0.
        config: voting settings (defaults: PartSLIP's).

    Returns:
        :class:`SuperpointVotes`; with no predictions every score is 0.
    """
    config = _check_config(config)
    _check_views_predictions(views, preds)
    sp = _check_superpoints(superpoints, views.n_points)
    inc = _region_incidence(views, preds, sp, config)
    return _votes_from(inc, preds, config)


def _mask_votes(views: Views, preds: Predictions, sp: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(M, C) int64 §2.4 vote numerators with mask regions (``VoteConfig.region = "mask"``).

    Counts, per superpoint and part, the (visible point, view) pairs covered by the mask of at
    least one kept prediction of that part in that view.
    """
    from partlift.lifting.coverage import coverage

    if preds.masks is None:
        raise InputError(
            "VoteConfig.region='mask': the predictions carry no masks; use a teacher that gives "
            "masks (e.g. 'box+sam' or the simulated teacher) or region='box'"
        )
    m = int(sp.max()) + 1 if sp.size else 0
    c = len(preds.part_names)
    votes = np.zeros((m, c), np.int64)
    cov = coverage(views, preds, region="mask").matrix.tocoo()
    ok = kept[cov.row]
    row, col = cov.row[ok].astype(np.int64), cov.col[ok].astype(np.int64)
    if row.size == 0:
        return votes
    n_views = views.n_views
    key = np.unique((col * n_views + preds.view[row].astype(np.int64)) * c + preds.label[row].astype(np.int64))
    point, part = key // (n_views * c), key % c
    np.add.at(votes, (sp[point], part), 1)
    return votes


def _region_incidence(views: Views, preds: Predictions, sp: np.ndarray, config: VoteConfig) -> _Incidence:
    """The incidence with vote numerators over boxes, or over masks when ``config.region == "mask"``
    (the box numerators are then not computed)."""
    if config.region == "box":
        return _incidence(views, preds, sp, config)
    inc = _incidence(views, preds, sp, config, with_votes=False)
    return dataclasses.replace(inc, votes=_mask_votes(views, preds, sp, inc.kept))


def _votes_from(inc: _Incidence, preds: Predictions, config: VoteConfig) -> SuperpointVotes:
    scores, visible_count = _scores(inc, config)
    return SuperpointVotes(
        scores=scores,
        visible_count=visible_count,
        n_points=inc.n_points,
        kept=inc.kept,
        relative_size=_relative_sizes(inc, preds),
        part_names=tuple(preds.part_names),
    )


def relative_part_sizes(
    views: Views, preds: Predictions, config: VoteConfig | None = None
) -> np.ndarray:
    """(C,) float64 relative 2D size of each part, for ``priority_mode="size"``.

    For a kept box b (after the whole-object filter) in view v: ``area(b ∩ O_v) / area(O_v)``,
    where ``O_v`` is the 2D bounding box of the points visible in v. A part's size is the median
    over its kept boxes (views where ``O_v`` has zero area are skipped); inf for a part without
    kept boxes (such a part is never "small").
    """
    config = _check_config(config)
    _check_views_predictions(views, preds)
    zeros = np.zeros(views.n_points, np.int64)
    inc = _incidence(views, preds, zeros, config, with_votes=False)
    return _relative_sizes(inc, preds)


def priority_order(
    part_names: Sequence[str],
    config: VoteConfig | None = None,
    relative_size: np.ndarray | None = None,
) -> tuple[int, ...]:
    """Part indices that take priority over the argmax, highest priority first.

    ``"names"``: the parts named in ``config.small_part_names``, highest index first (PartSLIP
    scans parts from the last to the first, §2.4). ``"size"``: the parts with
    ``relative_size < config.small_part_area``, smallest first, ties higher index first
    (``relative_size`` (C,) is required, e.g. ``SuperpointVotes.relative_size``). ``"none"``: ().
    """
    config = _check_config(config)
    names = tuple(part_names)
    if config.priority_mode == "none":
        return ()
    if config.priority_mode == "names":
        small = {n.strip().lower() for n in config.small_part_names}
        return tuple(j for j in range(len(names) - 1, -1, -1) if names[j].strip().lower() in small)
    if relative_size is None:
        raise InputError(
            'priority_mode="size" needs the parts\' relative sizes; pass relative_size '
            "(e.g. SuperpointVotes.relative_size) or use priority_mode='names'"
        )
    rel = np.asarray(relative_size, np.float64)
    if rel.shape != (len(names),):
        raise InputError(
            f"relative_size: expected shape ({len(names)},) for {len(names)} parts, got {rel.shape}"
        )
    small_parts = [j for j in range(len(names)) if rel[j] < config.small_part_area]
    return tuple(sorted(small_parts, key=lambda j: (rel[j], -j)))


def label_superpoints(
    scores: np.ndarray,
    part_names: Sequence[str],
    config: VoteConfig | None = None,
    *,
    relative_size: np.ndarray | None = None,
) -> np.ndarray:
    """(M,) int64 part label per superpoint from its scores (§2.4; reused by PartSTAD §3.7).

    A superpoint whose best score is below ``config.vote_threshold`` gets -1. Otherwise the first
    part of :func:`priority_order` whose score reaches the threshold wins; if none does, the
    argmax (the lowest index among equal maxima).

    Args:
        scores: (M, C) float scores (PartSLIP votes or PartSTAD probabilities).
        part_names: the C part names.
        config: threshold and priority settings.
        relative_size: (C,) parts' relative sizes, required for ``priority_mode="size"``.
    """
    config = _check_config(config)
    names = tuple(part_names)
    if not isinstance(scores, np.ndarray) or scores.ndim != 2 or scores.shape[1] != len(names):
        raise InputError(
            f"scores: expected an (M, {len(names)}) float array for parts {list(names)}, got "
            f"{type(scores).__name__} of shape {getattr(scores, 'shape', None)}"
        )
    if scores.dtype.kind != "f" or not np.isfinite(scores).all():
        raise InputError(f"scores: expected finite floats, got dtype {scores.dtype} with non-finite values")
    m = scores.shape[0]
    labels = np.full(m, -1, np.int64)
    if m == 0 or not names:
        return labels
    prio = priority_order(names, config, relative_size)
    thr = config.vote_threshold
    above = scores >= thr
    chosen = np.argmax(scores, axis=1)
    if prio:
        q = above[:, list(prio)]
        has = q.any(axis=1)
        chosen = np.where(has, np.asarray(prio, np.int64)[np.argmax(q, axis=1)], chosen)
    ok = above.any(axis=1)
    labels[ok] = chosen[ok]
    return labels


def partslip_labels(
    views: Views,
    preds: Predictions,
    superpoints: np.ndarray,
    xyz: np.ndarray,
    part_names: Sequence[str] | None = None,
    config: VoteConfig | None = None,
) -> PartslipResult:
    """PartSLIP lifting of 2D boxes to 3D part labels: votes, labels, instances (§2.3–2.5).

    Args:
        views: the rendering (``screen_xy`` (V, N, 2), ``visible`` (V, N)).
        preds: box predictions on those views.
        superpoints: (N,) int superpoint id per point, >= 0.
        xyz: (N, 3) float points, unit-sphere frame.
        part_names: the C part names (default: ``preds.part_names``; must have the same length).
        config: settings (defaults: PartSLIP's).

    Returns:
        :class:`PartslipResult`. With no predictions every point is -1 with score 0.
    """
    config = _check_config(config)
    _check_views_predictions(views, preds)
    names = _check_part_names(part_names, preds)
    spts = _check_superpoints(superpoints, views.n_points)
    xyz64 = _check_xyz(xyz, views.n_points)
    inc = _region_incidence(views, preds, spts, config)
    votes = _votes_from(inc, preds, config)
    sp_labels = label_superpoints(votes.scores, names, config, relative_size=votes.relative_size)
    lo, hi = superpoint_boxes_3d(xyz64, spts)
    sp_inst = _group(inc, preds, sp_labels, lo, hi, config)
    logger.debug(
        "partslip: %d of %d superpoints labelled, %d instances",
        int((sp_labels >= 0).sum()),
        sp_labels.size,
        int(sp_inst.max()) + 1 if sp_inst.size else 0,
    )
    return PartslipResult(
        semantic=sp_labels[spts],
        instance=sp_inst[spts],
        scores=votes.scores.astype(np.float32)[spts],
    )
