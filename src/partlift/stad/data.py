"""Per-shape tensors for PartSTAD: everything training touches, precomputed once (METHODS §3.2).

The weighted vote of §3.4,

    S[k, c] = sum_v sum_{p in P_k ∩ Vis_v} max_{d in cov_v(p, c)} w_d  /  (sum_v |P_k ∩ Vis_v| + eps),

depends on the points only through the *set* of predictions covering each (point, view, part)
triple. Triples of one superpoint with the same view, part and covering set contribute the same
max, so they are merged into one **group** with a multiplicity. A shape then reduces to:

* ``member_pred`` / ``member_group`` (P,): the (prediction, group) memberships;
* ``group_target`` (G,): the flat index ``k * C + c`` of the group's (superpoint, part);
* ``group_count`` (G,): the number of (point, view) pairs the group stands for;

and the vote is a ``scatter_reduce("amax")`` over memberships followed by a ``scatter_add`` over
groups (:mod:`partlift.stad.voting`), with no per-superpoint loop. Covering sets are compared by
a 64-bit XOR signature of random per-prediction keys (a collision needs two different sets of one
superpoint, view and part with the same signature: probability ~2^-64 per pair).

Superpoints are re-indexed to the **valid** ones (§3.2 step 6): visible at least once and covered
by at least one voting prediction. Invalid superpoints are left out of the loss and labelled -1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from partlift.boxes import box_iou
from partlift.errors import InputError
from partlift.lifting.voting import VoteConfig, relative_part_sizes, whole_object_boxes
from partlift.stad.config import StadConfig
from partlift.stad.encoding import prediction_inputs
from partlift.types import Coverage, Predictions, PreparedShape, Views

__all__ = ["ShapeTensors", "shape_tensors", "from_prepared"]

logger = logging.getLogger(__name__)

_SIGNATURE_SEED = 0x5EED
"""Seed of the per-prediction random keys whose XOR identifies a covering set."""


@dataclass(frozen=True, eq=False)
class ShapeTensors:
    """One shape's PartSTAD tensors (all on one device). K valid superpoints, C parts, D predictions.

    Attributes:
        name: shape name (for logs and warnings).
        part_names: the C part names.
        inputs: (D, F + E) float32 weight-net input per prediction (all predictions of the shape,
            whole-object boxes included: they are part of the context normalisation set).
        member_pred: (P,) int64 prediction index of each (group, prediction) membership.
        member_group: (P,) int64 group index of each membership.
        group_target: (G,) int64 flat ``k * C + c`` (valid superpoint k, part c) of each group.
        group_count: (G,) float32 (point, view) pairs each group stands for.
        denom: (K,) float32 ``sum_v |P_k ∩ Vis_v| + vote_eps``.
        n_points: (K,) float32 points per valid superpoint.
        superpoint_ids: (K,) int64 original id of each valid superpoint.
        n_superpoints: M, the number of superpoint ids of the shape (``max + 1``).
        gt: (K, C) float32 fraction of each valid superpoint's points with GT part c, or None.
        gt_counts: (K, C) float32 number of those points, or None.
        gt_total: (C,) float32 points of the whole shape with GT part c (invalid superpoints
            included, for exact point-level IoU), or None.
        relative_size: (C,) float64 parts' relative 2D sizes (``VoteConfig.priority_mode ==
            "size"``), or None.
        meta: counts for logs (predictions, kept, pairs, groups).
    """

    name: str
    part_names: tuple[str, ...]
    inputs: torch.Tensor
    member_pred: torch.Tensor
    member_group: torch.Tensor
    group_target: torch.Tensor
    group_count: torch.Tensor
    denom: torch.Tensor
    n_points: torch.Tensor
    superpoint_ids: np.ndarray
    n_superpoints: int
    gt: torch.Tensor | None = None
    gt_counts: torch.Tensor | None = None
    gt_total: torch.Tensor | None = None
    relative_size: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_valid(self) -> int:
        """K, the number of valid superpoints."""
        return int(self.denom.shape[0])

    @property
    def n_parts(self) -> int:
        return len(self.part_names)

    @property
    def n_predictions(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.group_target.shape[0])

    @property
    def has_gt(self) -> bool:
        return self.gt is not None

    def to(self, device: str | torch.device) -> ShapeTensors:
        """A copy with every tensor on ``device``."""
        changes = {
            k: getattr(self, k).to(device)
            for k in ("inputs", "member_pred", "member_group", "group_target", "group_count",
                      "denom", "n_points", "gt", "gt_counts", "gt_total")
            if getattr(self, k) is not None
        }
        return replace(self, **changes)


def _check_inputs(
    views: object, superpoints: object, preds: object, gt: object, config: object
) -> np.ndarray:
    if not isinstance(views, Views):
        raise InputError(f"shape_tensors: expected views to be partlift Views, got {type(views).__name__}")
    if not isinstance(preds, Predictions):
        raise InputError(f"shape_tensors: expected Predictions, got {type(preds).__name__}")
    if not isinstance(config, StadConfig):
        raise InputError(f"shape_tensors: expected a StadConfig, got {type(config).__name__}")
    n = views.n_points
    if not isinstance(superpoints, np.ndarray) or superpoints.shape != (n,) or superpoints.dtype.kind not in "iu":
        raise InputError(
            f"shape_tensors: expected superpoints as an ({n},) integer array (one id per rendered "
            f"point), got {type(superpoints).__name__} of shape {getattr(superpoints, 'shape', None)}"
        )
    if n and superpoints.min() < 0:
        raise InputError(f"shape_tensors: superpoint ids must be >= 0, got {int(superpoints.min())}")
    if gt is not None:
        c = len(preds.part_names)
        if not isinstance(gt, np.ndarray) or gt.shape != (n,) or gt.dtype.kind not in "iu":
            raise InputError(
                f"shape_tensors: expected GT labels as an ({n},) integer array, got "
                f"{type(gt).__name__} of shape {getattr(gt, 'shape', None)}"
            )
        if n and (gt.min() < -1 or gt.max() >= c):
            raise InputError(
                f"shape_tensors: GT labels must lie in [-1, {c}) for parts {list(preds.part_names)}, "
                f"got range [{int(gt.min())}, {int(gt.max())}]"
            )
    if config.masks and preds.masks is None:
        raise InputError(
            f"PartSTAD with masks needs predictions with masks, but teacher "
            f"{preds.teacher or '(unnamed)'} gave boxes only; use a mask teacher (e.g. "
            "'simulated:fewshot' or '<detector>+sam') or StadConfig(masks=False) / --no-masks"
        )
    return superpoints.astype(np.int64, copy=False)


def _superpoint_aabb(views: Views, sp: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(V, M) int64 visible counts and (V, M, 4) float64 xyxy 2D boxes of visible projections."""
    nv = views.n_views
    counts = np.zeros((nv, m), np.int64)
    aabb = np.empty((nv, m, 4), np.float64)
    for v in range(nv):
        idx = np.flatnonzero(views.visible[v])
        spv = sp[idx]
        counts[v] = np.bincount(spv, minlength=m)
        xy = views.screen_xy[v, idx].astype(np.float64)
        lo = np.full((m, 2), np.inf)
        hi = np.full((m, 2), -np.inf)
        np.minimum.at(lo, spv, xy)
        np.maximum.at(hi, spv, xy)
        aabb[v] = np.concatenate([lo, hi], axis=1)
    return counts, aabb


def shape_tensors(
    views: Views,
    superpoints: np.ndarray,
    preds: Predictions,
    config: StadConfig,
    *,
    coverage: Coverage | None = None,
    gt: np.ndarray | None = None,
    vote_config: VoteConfig | None = None,
    name: str = "shape",
    device: str | torch.device = "cpu",
) -> ShapeTensors:
    """Precompute one shape's PartSTAD tensors (see the module docstring).

    Args:
        views: the rendering (V views, N points) the predictions were made on.
        superpoints: (N,) int superpoint id per point, >= 0.
        preds: D predictions (boxes; masks when ``config.masks``).
        config: which region votes, the visible-count rule, the vote rules
            (:meth:`StadConfig.vote_rules`: whole-object filter, AABB shortcut, vote epsilon) and
            the encoding settings.
        coverage: the (D, N) coverage of ``preds`` with the region ``config.masks`` asks for
            (computed when None).
        gt: (N,) int GT part per point (-1 = none) for training / validation, or None.
        vote_config: the run's vote settings (default PartSLIP's): the priority mode, and the
            base of PartSTAD's vote rules (``config.vote_rules(vote_config)``).
        name: shape name for messages.
        device: where the tensors live.

    Returns:
        :class:`ShapeTensors`. A shape without predictions (or without valid superpoints) has
        K = 0 and G = 0.
    """
    from partlift.lifting.coverage import coverage as compute_coverage

    sp = _check_inputs(views, superpoints, preds, gt, config)
    vote_config = vote_config or VoteConfig()
    rules = config.vote_rules(vote_config)
    region = "mask" if config.masks else "box"
    if coverage is None:
        coverage = compute_coverage(views, preds, region=region)
    elif not isinstance(coverage, Coverage) or coverage.region != region:
        raise InputError(
            f"shape_tensors: expected a Coverage with region {region!r} (StadConfig.masks="
            f"{config.masks}), got {getattr(coverage, 'region', type(coverage).__name__)!r}"
        )
    if coverage.matrix.shape != (len(preds), views.n_points):
        raise InputError(
            f"shape_tensors: coverage is {coverage.matrix.shape} but there are {len(preds)} "
            f"predictions and {views.n_points} points"
        )
    names = tuple(preds.part_names)
    c = len(names)
    nv = views.n_views
    m = int(sp.max()) + 1 if sp.size else 0
    d_all = len(preds)

    vis_counts, aabb = _superpoint_aabb(views, sp, m)
    vis_total = vis_counts.sum(axis=0)

    kept = np.ones(d_all, bool)
    if rules.whole_object_ratio <= 1 and d_all:  # above 1 no box can hold that many points
        kept = ~whole_object_boxes(views, preds, rules.whole_object_ratio)

    d, p = coverage.coo()
    sel = kept[d]
    d, p = d[sel], p[sel]
    v = preds.view[d]
    k = sp[p]
    lab = preds.label[d]
    sel = vis_counts[v, k] >= config.min_visible_points
    if rules.aabb_zero_area_quirk:
        sel &= box_iou(aabb[v, k], preds.boxes[d].astype(np.float64)) >= rules.aabb_iou_eps
    d, p, v, k, lab = d[sel], p[sel], v[sel], k[sel], lab[sel]

    valid = np.zeros(m, bool)
    valid[k] = True
    valid &= vis_total > 0
    sp_ids = np.flatnonzero(valid)
    local = np.full(m, -1, np.int64)
    local[sp_ids] = np.arange(sp_ids.size)

    # (point, view, part) triples and their covering sets.
    triple = (p * nv + v) * c + lab
    order = np.lexsort((d, triple))
    d, triple, k, v, lab = d[order], triple[order], k[order], v[order], lab[order]
    t_keys, t_start, t_of = np.unique(triple, return_index=True, return_inverse=True)
    keys = np.random.default_rng(_SIGNATURE_SEED).integers(0, 2**63 - 1, size=max(d_all, 1), dtype=np.int64)
    sig = np.bitwise_xor.reduceat(keys[d], t_start) if d.size else np.zeros(0, np.int64)
    t_k, t_v, t_c = k[t_start], v[t_start], lab[t_start]

    # Merge triples of one (superpoint, view, part) with the same covering set into groups.
    gkey = np.stack([(local[t_k] * nv + t_v) * c + t_c, sig], axis=1)
    g_keys, g_first, g_of, g_count = np.unique(
        gkey, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    g_of = g_of.reshape(-1)
    group_target = local[t_k[g_first]] * c + t_c[g_first]
    mem = np.unique(g_of[t_of] * max(d_all, 1) + d)
    member_group = mem // max(d_all, 1)
    member_pred = mem % max(d_all, 1)

    gt_t = gt_counts_t = gt_total_t = None
    if gt is not None:
        labelled = gt >= 0
        counts = np.zeros((m, c), np.float64)
        np.add.at(counts, (sp[labelled], gt[labelled]), 1.0)
        n_sp = np.bincount(sp, minlength=m).astype(np.float64)
        gt_counts_t = torch.from_numpy(counts[sp_ids].astype(np.float32))
        gt_t = torch.from_numpy((counts[sp_ids] / np.maximum(n_sp[sp_ids], 1.0)[:, None]).astype(np.float32))
        gt_total_t = torch.from_numpy(np.bincount(gt[labelled], minlength=c).astype(np.float32))

    rel = None
    if vote_config.priority_mode == "size":
        rel = relative_part_sizes(views, preds, vote_config)

    n_sp_all = np.bincount(sp, minlength=m)
    meta = {
        "n_predictions": d_all,
        "n_kept": int(kept.sum()),
        "n_pairs": int(d.size),
        "n_triples": int(t_keys.size),
        "n_groups": int(g_keys.shape[0]),
        "n_superpoints": m,
        "n_valid": int(sp_ids.size),
    }
    logger.debug("%s: %s", name, meta)
    st = ShapeTensors(
        name=name,
        part_names=names,
        inputs=prediction_inputs(preds, views.cameras, config),
        member_pred=torch.from_numpy(member_pred.astype(np.int64)),
        member_group=torch.from_numpy(member_group.astype(np.int64)),
        group_target=torch.from_numpy(group_target.astype(np.int64)),
        group_count=torch.from_numpy(g_count.astype(np.float32)),
        denom=torch.from_numpy((vis_total[sp_ids] + rules.vote_eps).astype(np.float32)),
        n_points=torch.from_numpy(n_sp_all[sp_ids].astype(np.float32)),
        superpoint_ids=sp_ids.astype(np.int64),
        n_superpoints=m,
        gt=gt_t,
        gt_counts=gt_counts_t,
        gt_total=gt_total_t,
        relative_size=rel,
        meta=meta,
    )
    return st.to(device)


def from_prepared(
    prepared: PreparedShape,
    preds: Predictions,
    config: StadConfig,
    *,
    vote_config: VoteConfig | None = None,
    device: str = "cpu",
    with_gt: bool = True,
    coverage: Coverage | None = None,
) -> ShapeTensors:
    """:func:`shape_tensors` for a :class:`~partlift.types.PreparedShape`.

    ``vote_config`` (:class:`~partlift.lifting.voting.VoteConfig`, None = defaults) gives the
    small-part rules; GT labels come from the prepared shape when ``with_gt`` (an unlabelled shape
    raises).
    """
    if not isinstance(prepared, PreparedShape):
        raise InputError(f"from_prepared: expected a PreparedShape, got {type(prepared).__name__}")
    gt = None
    if with_gt:
        shape = prepared.shape
        if shape.semantic is None or shape.part_names is None:
            raise InputError(f"{shape.name}: has no GT labels; PartSTAD training shapes must be labelled")
        gt = _labels_for(shape.semantic, tuple(shape.part_names), tuple(preds.part_names), shape.name)
    return shape_tensors(
        prepared.views,
        prepared.superpoints,
        preds,
        config,
        coverage=coverage,
        gt=gt,
        vote_config=vote_config,
        name=prepared.shape.name,
        device=device,
    )


def _labels_for(
    semantic: np.ndarray, shape_parts: tuple[str, ...], parts: tuple[str, ...], name: str
) -> np.ndarray:
    """(N,) GT labels re-indexed from the shape's part list to ``parts`` (-1 for other parts)."""
    if shape_parts == parts:
        return semantic.astype(np.int64)
    lut = np.full(len(shape_parts) + 1, -1, np.int64)
    for i, part in enumerate(shape_parts):
        if part in parts:
            lut[i] = parts.index(part)
    if (lut[:-1] < 0).all():
        raise InputError(
            f"{name}: none of its GT parts {list(shape_parts)} is among the parts {list(parts)}"
        )
    return lut[semantic.astype(np.int64)]
