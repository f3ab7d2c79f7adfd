"""Count-matched merging of the minimiser's components (``small_merge="matched"``; ours, issue 17).

PartSLIP's step 6 (METHODS §1.4) absorbs every component of ``<= min_size`` points; at reg 0.05
most components are such fragments (2-10 points along edges and seams: noisy PCA normals), and
the ``"energy"`` rule glues 20-40 of them into one superpoint across a door/frame boundary
(docs/superpoints.md, "Purer superpoints"). This rule produces **the same number of
superpoints as the default** (``"energy"`` at ``min_size``), shape by shape, but chooses the
merges differently:

1. ``target`` = the count of the default rule (``"energy"`` with ``min_size`` on the same
   components and features) -- so the granularity, and everything tuned on it, is unchanged;
2. only fragments of ``<= fragment_size`` points (default 2) are absorbed by the energy rule;
3. then the pair of adjacent components whose merge raises the energy least is merged, all
   mutually-best pairs at once, cheapest first, until ``target`` components remain. The energy
   of these merges is the §1.4 energy with colour weighted ``merge_rgb_weight`` in the features
   (instead of ``rgb_weight``) plus a planarity term ``planar_weight * sum_c λ_min(S_c)``, S_c
   the 3×3 scatter matrix of component c's points in the unit-sphere frame (its sum of squared
   distances to its best-fit plane): merging two coplanar pieces costs nothing, merging pieces
   at a depth step (a door in front of its frame) costs the step's squared height per point.

Deterministic: ties are broken by component id.
"""

from __future__ import annotations

import numpy as np

from partlift.errors import InputError
from partlift.superpoints.graph import (
    Edges,
    component_stats,
    relabel_by_first_point,
    unique_inverse,
)
from partlift.superpoints.merge import merge_by_energy

__all__ = ["matched_merge", "merge_to_count", "plane_residuals", "smallest_eigenvalues"]

_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _moments(xyz: np.ndarray, lab: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-component count (M,), coordinate sums (M, 3) and second moments (M, 6), float64."""
    cnt = np.bincount(lab, minlength=m).astype(np.float64)
    s1 = np.stack([np.bincount(lab, weights=xyz[:, i], minlength=m) for i in range(3)], axis=1)
    s2 = np.stack([np.bincount(lab, weights=xyz[:, i] * xyz[:, j], minlength=m) for i, j in _PAIRS], axis=1)
    return cnt, s1, s2


def plane_residuals(cnt: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Sum of squared distances of each group's points to its best-fit plane.

    Args:
        cnt: (M,) float point counts (> 0).
        s1: (M, 3) coordinate sums.
        s2: (M, 6) sums of x², xy, xz, y², yz, z².

    Returns:
        (M,) float64 smallest eigenvalue of each scatter matrix ``s2 - s1 s1ᵀ / cnt`` (>= 0),
        by :func:`smallest_eigenvalues`.
    """
    if len(cnt) == 0:
        return np.zeros(0)
    mu = s1 / cnt[:, None]
    c = [s2[:, k] - cnt * mu[:, i] * mu[:, j] for k, (i, j) in enumerate(_PAIRS)]
    return np.maximum(smallest_eigenvalues(*c), 0.0)


def smallest_eigenvalues(c00: np.ndarray, c01: np.ndarray, c02: np.ndarray, c11: np.ndarray,
                         c12: np.ndarray, c22: np.ndarray) -> np.ndarray:
    """Smallest eigenvalue of symmetric 3×3 matrices by the trigonometric formula (Smith 1961).

    Args:
        c00 ... c22: (M,) float64, the distinct entries of each matrix.

    Returns:
        (M,) float64; absolute error ~1e-15 × the largest eigenvalue (tested against
        ``np.linalg.eigvalsh``), which is what the planarity term needs.
    """
    q = (c00 + c11 + c22) / 3.0
    p1 = c01 * c01 + c02 * c02 + c12 * c12
    a, b, d = c00 - q, c11 - q, c22 - q
    p = np.sqrt((a * a + b * b + d * d + 2.0 * p1) / 6.0)
    safe = np.where(p > 0, p, 1.0)
    a, b, d, e01, e02, e12 = a / safe, b / safe, d / safe, c01 / safe, c02 / safe, c12 / safe
    det = a * (b * d - e12 * e12) - e01 * (e01 * d - e12 * e02) + e02 * (e01 * e12 - b * e02)
    phi = np.arccos(np.clip(det / 2.0, -1.0, 1.0)) / 3.0
    return np.where(p > 0, q + 2.0 * p * np.cos(phi + 2.0 * np.pi / 3.0), q)


def merge_to_count(
    labels: np.ndarray,
    features: np.ndarray,
    edges: Edges,
    reg: float,
    target: int,
    *,
    xyz: np.ndarray | None = None,
    planar_weight: float = 0.0,
    max_rounds: int = 2000,
) -> np.ndarray:
    """Merge adjacent components, least energy increase first, until ``target`` remain.

    Each round every component's best neighbour (least ΔE = |A||B|/(|A|+|B|) ||mean_A - mean_B||²
    - reg W(A, B) + planar_weight ΔR, R the plane residual of :func:`plane_residuals`) is found;
    the mutually-best pairs are merged, cheapest first, at most as many as are still over the
    target. Stops early when no two components are adjacent.

    Args:
        labels: (N,) int component ids.
        features: (N, D) float node features.
        edges: the undirected graph.
        reg: regularisation strength of the cut term.
        target: number of components wanted (>= 1).
        xyz: (N, 3) float coordinates (unit-sphere frame), needed when ``planar_weight > 0``.
        planar_weight: weight of the planarity term (0: the §1.4 energy alone).
        max_rounds: safety cap on the rounds.

    Returns:
        (N,) int64 ids, consecutive, in order of each component's first point.
    """
    if target < 1:
        raise InputError(f"merge_to_count: target must be >= 1, got {target}")
    if planar_weight > 0 and xyz is None:
        raise InputError("merge_to_count: planar_weight > 0 needs xyz")
    y = np.asarray(features, dtype=np.float64)
    lab = relabel_by_first_point(labels)
    m = int(lab.max()) + 1
    if m <= target:
        return lab
    # Work on the component graph: statistics per component, each adjacent pair once.
    cnt, sums, _ = component_stats(y, lab, m)
    planar = planar_weight > 0
    if planar:
        _, s1, s2 = _moments(np.asarray(xyz, dtype=np.float64), lab, m)
        r = plane_residuals(cnt, s1, s2)
    pa, pb, pw = _pairs(lab[edges.a], lab[edges.b], edges.w, m)
    for _ in range(max_rounds):
        if m <= target or len(pa) == 0:
            break
        diff = sums[pa] / cnt[pa, None] - sums[pb] / cnt[pb, None]
        delta = cnt[pa] * cnt[pb] / (cnt[pa] + cnt[pb]) * np.einsum("ij,ij->i", diff, diff) - reg * pw
        if planar:
            delta = delta + planar_weight * (plane_residuals(cnt[pa] + cnt[pb], s1[pa] + s1[pb], s2[pa] + s2[pb])
                                             - r[pa] - r[pb])
        src = np.concatenate([pa, pb])
        dst = np.concatenate([pb, pa])
        dd = np.concatenate([delta, delta])
        order = np.lexsort((dst, dd, src))
        first = np.ones(len(order), dtype=bool)
        first[1:] = src[order][1:] != src[order][:-1]
        best = np.full(m, -1, dtype=np.int64)
        best_delta = np.full(m, np.inf)
        best[src[order][first]] = dst[order][first]
        best_delta[src[order][first]] = dd[order][first]
        ids = np.arange(m)
        mutual = (best >= 0) & (best[np.maximum(best, 0)] == ids) & (ids < best)
        cand = np.flatnonzero(mutual)
        if len(cand) == 0:
            break
        cand = cand[np.argsort(best_delta[cand], kind="stable")][: m - target]
        into = np.arange(m)
        into[best[cand]] = cand
        _, new = unique_inverse(into)  # consecutive ids, merged pairs share one
        m_new = int(new.max()) + 1
        cnt = np.bincount(new, weights=cnt, minlength=m_new)
        sums = np.stack([np.bincount(new, weights=sums[:, j], minlength=m_new) for j in range(sums.shape[1])], axis=1)
        if planar:
            s1 = np.stack([np.bincount(new, weights=s1[:, j], minlength=m_new) for j in range(3)], axis=1)
            s2 = np.stack([np.bincount(new, weights=s2[:, j], minlength=m_new) for j in range(6)], axis=1)
            merged = np.bincount(new, minlength=m_new) > 1
            r_new = np.bincount(new, weights=r, minlength=m_new)  # unmerged: their own residual
            r_new[merged] = plane_residuals(cnt[merged], s1[merged], s2[merged])
            r = r_new
        pa, pb, pw = _pairs(new[pa], new[pb], pw, m_new)
        lab = new[lab]
        m = m_new
    return relabel_by_first_point(lab)


def _pairs(a: np.ndarray, b: np.ndarray, w: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unordered pair of different ids once (``lo < hi``, sorted) with its summed weight."""
    between = a != b
    lo, hi = np.minimum(a[between], b[between]), np.maximum(a[between], b[between])
    uniq, inv = unique_inverse(lo * np.int64(m) + hi)
    return uniq // m, uniq % m, np.bincount(inv, weights=w[between], minlength=len(uniq))


def matched_merge(
    components: np.ndarray,
    xyz: np.ndarray,
    *,
    min_size: int,
    fragment_size: int,
    features: np.ndarray,
    merge_features: np.ndarray,
    edges: Edges,
    reg: float,
    planar_weight: float,
) -> np.ndarray:
    """The ``"matched"`` rule (module doc): the default's count, merges chosen by energy.

    Args:
        components: (N,) int components of the minimiser.
        xyz: (N, 3) float coordinates in the unit-sphere frame (METHODS §1.1).
        min_size: ``min_size`` of the default rule; fixes the target count.
        fragment_size: fragments of ``<= fragment_size`` points are absorbed first (0: none).
        features: (N, D) node features of the minimiser (for the target count).
        merge_features: (N, D') node features of the merges (colour weighted ``merge_rgb_weight``).
        edges: the undirected graph.
        reg: regularisation strength.
        planar_weight: weight of the planarity term.

    Returns:
        (N,) int64 superpoint ids, consecutive, in order of each superpoint's first point.
    """
    target = int(merge_by_energy(components, xyz, min_size, features, edges, reg).max()) + 1
    lab = (merge_by_energy(components, xyz, fragment_size, merge_features, edges, reg)
           if fragment_size > 0 else relabel_by_first_point(components))
    return merge_to_count(lab, merge_features, edges, reg, target, xyz=xyz, planar_weight=planar_weight)
