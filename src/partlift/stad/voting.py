"""PartSTAD's weighted superpoint vote, null label and probabilities (METHODS §3.4), vectorised.

On the groups of :mod:`partlift.stad.data`:

1. ``gmax[g] = max_{d in group g} w_d`` — ``scatter_reduce(amax)`` over the memberships;
2. ``S[k, c] = sum_{g -> (k, c)} count_g * gmax[g] / denom[k]`` — ``index_add`` over groups;
3. ``P[k] = softmax([null, S[k, 1..C]])``.

:func:`weighted_scores_reference` is the direct loop over (point, view, part) triples that the
tests compare against.
"""

from __future__ import annotations

import numpy as np
import torch

from partlift.errors import InputError
from partlift.stad.data import ShapeTensors
from partlift.types import Coverage, Predictions, Views

__all__ = ["weighted_scores", "probabilities", "hard_votes", "weighted_scores_reference"]


def weighted_scores(st: ShapeTensors, weights: torch.Tensor) -> torch.Tensor:
    """(K, C) float32 weighted votes ``S[k, c]`` of the valid superpoints from (D,) weights."""
    if weights.ndim != 1 or weights.shape[0] != st.n_predictions:
        raise InputError(
            f"weighted_scores: expected ({st.n_predictions},) weights for {st.name}, got {tuple(weights.shape)}"
        )
    k, c = st.n_valid, st.n_parts
    if st.n_groups == 0:
        return weights.new_zeros((k, c))
    vals = weights[st.member_pred]
    gmax = weights.new_zeros(st.n_groups).scatter_reduce(
        0, st.member_group, vals, reduce="amax", include_self=False
    )
    flat = weights.new_zeros(k * c).index_add(0, st.group_target, st.group_count * gmax)
    return flat.view(k, c) / st.denom[:, None]


def probabilities(scores: torch.Tensor, null: torch.Tensor) -> torch.Tensor:
    """(K, C + 1) softmax over ``[null, S[k, 1..C]]``; column 0 is the null label."""
    col = null.reshape(1, 1).expand(scores.shape[0], 1).to(scores.dtype)
    return torch.softmax(torch.cat([col, scores], dim=1), dim=1)


def hard_votes(st: ShapeTensors) -> torch.Tensor:
    """(K, C) PartSLIP-style votes: :func:`weighted_scores` with every weight 1 (§6 sanity test 1)."""
    return weighted_scores(st, st.inputs.new_ones(st.n_predictions))


def weighted_scores_reference(
    views: Views,
    superpoints: np.ndarray,
    preds: Predictions,
    coverage: Coverage,
    weights: np.ndarray,
    *,
    kept: np.ndarray | None = None,
    min_visible_points: int = 1,
    vote_eps: float = 1e-6,
) -> np.ndarray:
    """(M, C) float64 §3.4 vote by direct loops over superpoints, views, points and parts (tests).

    ``kept`` (D,) bool marks the predictions allowed to vote (default all). No AABB shortcut.
    """
    dense = coverage.to_dense()
    m = int(superpoints.max()) + 1
    c = len(preds.part_names)
    kept = np.ones(len(preds), bool) if kept is None else kept
    out = np.zeros((m, c))
    for sp_id in range(m):
        members = np.flatnonzero(superpoints == sp_id)
        total = 0
        num = np.zeros(c)
        for v in range(views.n_views):
            vis = members[views.visible[v, members]]
            total += vis.size
            if vis.size < min_visible_points:
                continue
            for p in vis:
                for part in range(c):
                    best = 0.0
                    for d in range(len(preds)):
                        if kept[d] and preds.view[d] == v and preds.label[d] == part and dense[d, p]:
                            best = max(best, float(weights[d]))
                    num[part] += best
        out[sp_id] = num / (total + vote_eps)
    return out
