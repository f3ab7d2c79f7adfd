"""L0 cut pursuit (Landrieu & Obozinski 2017) with graph cuts by scipy's maximum flow.

The minimiser METHODS §1.4 names, written from the paper's description (no code reused). It
minimises the energy of :mod:`partlift.superpoints.graph` top-down:

1. Start with one component per connected piece of the graph, valued at its mean.
2. Split: for every component not yet "saturated", look for a binary partition (A, B) with
   values (h_A, h_B) that lowers  sum ||y_i - h||**2 + reg * (weight cut inside the component).
   h_A, h_B start at the two sides of the component's principal direction (a 2-means split of
   the residuals); then ``flow_steps`` times: solve the binary labelling exactly by an s-t
   minimum cut (unaries ||y_i - h_A||**2, ||y_i - h_B||**2; pairwise reg * w_ij), and set h_A,
   h_B to the means of the two sides. All components are cut in ONE max-flow: edges between
   components are left out (they are already cut and do not interact).
3. Keep a split only where it lowers the energy exactly (float arithmetic, not the rounded
   capacities); components that do not split are saturated. The new components are the
   connected pieces of the split.
4. Backward step: merge adjacent components while that lowers the energy
   (:func:`partlift.superpoints.fusion.region_merging` started from the current partition);
   merged components are unsaturated again.
5. Repeat until nothing splits or ``max_iterations``.

``scipy.sparse.csgraph.maximum_flow`` needs int32 capacities: costs are scaled so that the
sum of all capacities stays below 2**30 and rounded (about 1 % error on a typical
edge at 100k points; the exact check of step 3 keeps the energy from rising). The cut is read
from the residual graph: nodes reachable from the source take side A.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow

from partlift.superpoints.fusion import region_merging
from partlift.superpoints.graph import Edges, component_stats, relabel_by_first_point

log = logging.getLogger(__name__)

__all__ = ["cut_pursuit", "min_cut"]

_CAPACITY_BUDGET = 2**30  # sum of all capacities kept below this (int32 flows)
_GAIN_TOL = 1e-12


def min_cut(n: int, a: np.ndarray, b: np.ndarray, pair_cost: np.ndarray, unary_diff: np.ndarray) -> np.ndarray:
    """Exact binary labelling  min sum_i u_i(x_i) + sum_(a,b) c_ab [x_a != x_b]  by an s-t cut.

    Args:
        n: number of nodes.
        a, b: (E,) int node pairs (undirected).
        pair_cost: (E,) float >= 0 cost of giving ``a`` and ``b`` different labels.
        unary_diff: (n,) float ``u_i(A) - u_i(B)``.

    Returns:
        (n,) bool, True = label A. Costs are scaled to int32 and rounded (see module doc).
    """
    total = float(np.abs(unary_diff).sum()) + float(pair_cost.sum())
    scale = _CAPACITY_BUDGET / max(total, 1e-30)
    cap = np.round(pair_cost * scale).astype(np.int64)
    diff = np.round(unary_diff * scale).astype(np.int64)
    s, t = n, n + 1
    nodes = np.arange(n, dtype=np.int64)
    rows = np.concatenate([a, b, np.full(n, s), nodes])
    cols = np.concatenate([b, a, nodes, np.full(n, t)])
    caps = np.concatenate([cap, cap, np.maximum(-diff, 0), np.maximum(diff, 0)])
    keep = caps > 0
    graph = sp.csr_matrix(
        (caps[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(n + 2, n + 2)
    )
    graph.sum_duplicates()
    flow = maximum_flow(graph, s, t, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data = np.maximum(residual.data, 0)
    residual.eliminate_zeros()
    reach = breadth_first_order(residual, s, directed=True, return_predecessors=False)
    side_a = np.zeros(n + 2, dtype=bool)
    side_a[reach] = True
    return side_a[:n]


def _side_means(y: np.ndarray, lab: np.ndarray, m: int, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts (M,) and feature sums (M, D) of the points of each component on ``side``."""
    cnt = np.bincount(lab, weights=side.astype(np.float64), minlength=m)
    sums = np.stack([np.bincount(lab, weights=y[:, j] * side, minlength=m) for j in range(y.shape[1])], 1)
    return cnt, sums


def _principal_split(y: np.ndarray, lab: np.ndarray, m: int, mu: np.ndarray) -> np.ndarray:
    """(N,) bool: side of each point along its component's principal residual direction."""
    r = y - mu[lab]
    d = y.shape[1]
    cov = np.empty((m, d, d))
    for i in range(d):
        for j in range(i, d):
            cov[:, i, j] = cov[:, j, i] = np.bincount(lab, weights=r[:, i] * r[:, j], minlength=m)
    direction = np.linalg.eigh(cov)[1][:, :, -1]
    return np.einsum("ij,ij->i", r, direction[lab]) > 0


def cut_pursuit(
    features: np.ndarray,
    edges: Edges,
    reg: float,
    *,
    max_iterations: int = 30,
    flow_steps: int = 3,
    max_rounds: int = 2000,
) -> np.ndarray:
    """Minimise the §1.4 energy by L0 cut pursuit (module doc).

    Args:
        features: (N, D) float node features y.
        edges: undirected weighted graph on the N points.
        reg: regularisation strength (>= 0).
        max_iterations: cap on split/merge iterations.
        flow_steps: cut/update alternations per split.
        max_rounds: cap on the rounds of each backward (merge) step.

    Returns:
        (N,) int64 component ids, consecutive, in order of each component's first point; each
        component is connected in the graph.
    """
    y = np.asarray(features, dtype=np.float64)
    n = len(y)
    graph = sp.coo_matrix((np.ones(len(edges.a)), (edges.a, edges.b)), shape=(n, n))
    m, lab = connected_components(graph, directed=False)
    lab = lab.astype(np.int64)
    saturated = np.zeros(m, dtype=bool)
    for it in range(max_iterations):
        cnt, sums, sq = component_stats(y, lab, m)
        mu = sums / cnt[:, None]
        active = ~saturated & (cnt > 1)
        if not active.any():
            break
        side = _principal_split(y, lab, m, mu)
        n_a, s_a = _side_means(y, lab, m, side)
        h_a = np.where(n_a[:, None] > 0, s_a / np.maximum(n_a, 1)[:, None], mu)
        h_b = np.where((cnt - n_a)[:, None] > 0, (sums - s_a) / np.maximum(cnt - n_a, 1)[:, None], mu)
        # The flow problem on the points of active components and the edges inside them.
        pts = np.flatnonzero(active[lab])
        local = np.full(n, -1, dtype=np.int64)
        local[pts] = np.arange(len(pts))
        inside = (lab[edges.a] == lab[edges.b]) & active[lab[edges.a]]
        ea, eb = local[edges.a[inside]], local[edges.b[inside]]
        pair = reg * edges.w[inside]
        yl, ll = y[pts], lab[pts]
        for _ in range(flow_steps):
            u_a = ((yl - h_a[ll]) ** 2).sum(1)
            u_b = ((yl - h_b[ll]) ** 2).sum(1)
            side_l = min_cut(len(pts), ea, eb, pair, u_a - u_b)
            side = np.zeros(n, dtype=bool)
            side[pts] = side_l
            n_a, s_a = _side_means(y, lab, m, side)
            h_a = np.where(n_a[:, None] > 0, s_a / np.maximum(n_a, 1)[:, None], h_a)
            h_b = np.where((cnt - n_a)[:, None] > 0, (sums - s_a) / np.maximum(cnt - n_a, 1)[:, None], h_b)
        # Exact energy gain of each component's split (with the means of the two sides).
        n_b, s_b = cnt - n_a, sums - s_a
        sse_before = sq - np.einsum("ij,ij->i", sums, sums) / cnt
        sse_after = (
            sq
            - np.einsum("ij,ij->i", s_a, s_a) / np.maximum(n_a, 1)
            - np.einsum("ij,ij->i", s_b, s_b) / np.maximum(n_b, 1)
        )
        cut = side[edges.a] != side[edges.b]
        cut_w = np.bincount(lab[edges.a[inside & cut]], weights=edges.w[inside & cut], minlength=m)
        gain = sse_before - sse_after - reg * cut_w
        split = active & (n_a > 0) & (n_b > 0) & (gain > _GAIN_TOL)
        saturated = saturated | (active & ~split)
        if not split.any():
            break
        # New components: connected pieces of (component, side) for split components.
        key = lab * 2 + (side & split[lab])
        keep = key[edges.a] == key[edges.b]
        pieces = sp.coo_matrix((np.ones(int(keep.sum())), (edges.a[keep], edges.b[keep])), shape=(n, n))
        m_new, lab_new = connected_components(pieces, directed=False)
        sat_new = np.zeros(m_new, dtype=bool)
        sat_new[lab_new] = saturated[lab]
        # Backward step: merging lowers the energy where it can; merged components are unsaturated.
        merged = region_merging(y, edges, reg, labels=lab_new, max_rounds=max_rounds)
        m_merged = int(merged.max()) + 1
        pairs = np.unique(lab_new * np.int64(m_merged) + merged)  # (piece, merged) pairs
        parts = np.bincount(pairs % m_merged, minlength=m_merged)
        sat_merged = np.zeros(m_merged, dtype=bool)
        single = parts[merged] == 1
        sat_merged[merged[single]] = sat_new[lab_new[single]]
        lab, m, saturated = merged, m_merged, sat_merged
        log.debug("cut_pursuit: iteration %d, %d components, %d saturated", it, m, int(saturated.sum()))
    return relabel_by_first_point(lab)
