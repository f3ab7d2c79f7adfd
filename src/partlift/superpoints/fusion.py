"""Greedy L0 region merging: the default minimiser of the METHODS §1.4 energy.

Starting from a partition (by default every point alone), two adjacent components A and B are
merged when that lowers the energy of :mod:`partlift.superpoints.graph`:

    ΔE(A, B) = |A||B| / (|A| + |B|) * ||mean_A - mean_B||**2  -  reg * W(A, B)  <  0

(the rise of the within-component sum of squares minus the weight of the edges between A and B
that stop being cut). Merging goes on until no adjacent pair has ΔE < 0. This is "L0 region
merging / region fusion" of the same energy that L0 cut pursuit minimises (the bottom-up
counterpart of the top-down cut pursuit); docs/superpoints.md compares the energies reached.

The serial greedy (always merge the globally best pair, :func:`region_merging_reference`) is
slow in Python. :func:`region_merging` runs it in parallel rounds over the reduced graph of
components:

* every component proposes its best partner (most negative ΔE, ties by edge order);
* mutual proposals are disjoint pairs whose merges do not interact, so each lowers the energy
  by exactly its ΔE -- a round merges all of them (the best pair overall is always one);
* once a round merges fewer than ``LATE_FRACTION`` of the components (a large component that
  many small neighbours propose to can take only one per round, and chains of proposals wait
  for their ends), every "leaf" -- a proposer nobody proposes to -- also joins its partner,
  which stays put that round. Each such group is merged only if the group as a whole lowers the
  energy, so the energy never rises.

Measured (docs/superpoints.md): within 0.1-2.3 % of the energy of pairs-only rounds on the real
dev shapes, with 2-3x fewer rounds.
"""

from __future__ import annotations

import heapq
import logging

import numpy as np

from partlift.superpoints.graph import (
    Edges,
    component_stats,
    relabel_by_first_point,
    unique_inverse,
)

log = logging.getLogger(__name__)

__all__ = ["LATE_FRACTION", "region_merging", "region_merging_reference"]

# Let leaves join once a round merges fewer than this share of the components (module doc).
LATE_FRACTION = 0.02
# Edges per step of _delta.
_DELTA_CHUNK = 16_384


def _reduce(a: np.ndarray, b: np.ndarray, w: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    """Edges between components: drop internal ones, one row per unordered pair, weights summed."""
    return _reduce_tracked(a, b, w, m)[:3]


def _reduce_tracked(a: np.ndarray, b: np.ndarray, w: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    """:func:`_reduce`, plus for each output pair the position of one input edge that maps to it."""
    keep = np.flatnonzero(a != b)
    ak, bk = a.take(keep), b.take(keep)
    lo = np.minimum(ak, bk)
    hi = np.maximum(ak, bk)
    uniq, inv = unique_inverse(lo * np.int64(m) + hi)
    source = np.empty(len(uniq), dtype=np.int64)
    source[inv] = keep
    return uniq // m, uniq % m, np.bincount(inv, weights=w.take(keep), minlength=len(uniq)), source


def _reduce_round(
    a: np.ndarray, b: np.ndarray, w: np.ndarray, delta: np.ndarray, mp: np.ndarray, m2: int,
    mu: np.ndarray, cnt: np.ndarray, reg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One round's pairs after the merges ``mp``, with their ΔE: ``_reduce_tracked(mp[a], mp[b],
    w, m2)``, the ΔE of pairs of two untouched components carried over and the others recomputed,
    without sorting the untouched pairs (issue 17, fourth round).

    ``a``, ``b`` are the previous round's pairs (``a < b``, sorted by ``(a, b)``, one row per
    pair), ``mp`` (M,) the new id of each old component (``_consecutive`` of the groups), ``mu``
    / ``cnt`` the new components' mean features and sizes. A component is untouched if it is
    alone in its group; its group id is then its own id, and ``mp`` ranks the group ids, so
    ``mp`` is increasing on untouched components: pairs of two untouched components keep their
    order, stay distinct and keep their weight (a one-term sum), and they differ from every pair
    with a touched end (whose new id collects several old ones). Only those are reduced as
    before (sorted, weights summed by ``bincount`` in input order: the same floats); the two
    sorted lists are then merged.

    Returns:
        ``(a, b, w, delta)`` of the new pairs: the arrays ``_reduce_tracked`` and the per-pair
        ΔE update of :func:`region_merging` give, element for element.
    """
    touched_new = np.bincount(mp, minlength=m2) > 1
    touched = touched_new.take(mp)
    hit = touched.take(a)
    hit |= touched.take(b)
    tpos = np.flatnonzero(hit)
    upos = np.flatnonzero(~hit)
    ua, ub = mp.take(a.take(upos)), mp.take(b.take(upos))
    ta, tb = mp.take(a.take(tpos)), mp.take(b.take(tpos))
    inner = np.flatnonzero(ta != tb)
    ta, tb, tw = ta.take(inner), tb.take(inner), w.take(tpos.take(inner))
    tkeys, inv = unique_inverse(np.minimum(ta, tb) * np.int64(m2) + np.maximum(ta, tb))
    tw = np.bincount(inv, weights=tw, minlength=len(tkeys))
    ta, tb = tkeys // m2, tkeys % m2
    td = _delta(mu, cnt, ta, tb, tw, reg)
    if len(tkeys) == 0:
        return ua, ub, w.take(upos), delta.take(upos)
    ukeys = ua * np.int64(m2)
    ukeys += ub
    order = np.argsort(np.concatenate([ukeys, tkeys]), kind="stable")  # timsort: merges the two runs
    return tuple(np.concatenate(parts).take(order)
                 for parts in ((ua, ta), (ub, tb), (w.take(upos), tw), (delta.take(upos), td)))


def _canonical(a: np.ndarray, b: np.ndarray) -> bool:
    """True if the pairs are distinct with ``a < b`` and sorted by ``(a, b)`` (the Edges contract)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu" or len(a) != len(b):
        return False
    if len(a) == 0:
        return True
    if not bool((a < b).all()):
        return False
    return bool(((a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (b[1:] > b[:-1]))).all())


def _delta(mu: np.ndarray, cnt: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, reg: float) -> np.ndarray:
    """ΔE of merging the two ends of each edge (module doc); np.take rather than fancy indexing:
    the same values, about half the CPU (issue 17). Each row depends on its own edge only, so
    it is computed :data:`_DELTA_CHUNK` edges at a time (issue 17, fourth round: the (E, D)
    temporaries stay in cache)."""
    out = np.empty(len(a))
    for c0 in range(0, len(a), _DELTA_CHUNK):
        part = slice(c0, c0 + _DELTA_CHUNK)
        ac, bc = a[part], b[part]
        diff = np.take(mu, ac, axis=0)
        diff -= np.take(mu, bc, axis=0)
        ca, cb = cnt.take(ac), cnt.take(bc)
        out[part] = ca * cb / (ca + cb) * np.einsum("ij,ij->i", diff, diff) - reg * w[part]
    return out


def _consecutive(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """``numpy.unique(labels, return_inverse=True)``'s positions (N,) int64 and the count of
    distinct labels. Small non-negative integer ids (every caller here: ids < 2N + 16) are
    ranked by a presence table and a cumulative sum, O(N + max id) instead of a sort (issue 17,
    fourth round): the same positions, since both are the rank of each label among the sorted
    distinct labels."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        uniq, inv = np.unique(labels, return_inverse=True)
        return inv.reshape(-1).astype(np.int64), len(uniq)
    n = len(labels)
    if n and labels.ndim == 1 and int(labels.min()) >= 0 and int(labels.max()) < 2 * n + 16:
        present = np.zeros(int(labels.max()) + 1, dtype=np.int64)
        present[labels] = 1
        rank = np.cumsum(present)
        rank -= 1
        return rank.take(labels), int(rank[-1]) + 1
    uniq, inv = unique_inverse(labels.astype(np.int64, copy=False))
    return inv, len(uniq)


def region_merging(
    features: np.ndarray,
    edges: Edges,
    reg: float,
    *,
    labels: np.ndarray | None = None,
    max_rounds: int = 2000,
) -> np.ndarray:
    """Merge adjacent components while the L0 energy decreases (parallel greedy, module doc).

    Args:
        features: (N, D) float node features y.
        edges: undirected weighted graph on the N points.
        reg: regularisation strength (>= 0).
        labels: (N,) int starting partition (any ids); None = every point alone.
        max_rounds: cap on the rounds (a warning is logged if it is reached).

    Returns:
        (N,) int64 component ids, consecutive, numbered in order of each component's first
        point. Components are unions of starting components, so they are connected in the graph
        whenever the starting ones are.
    """
    y = np.asarray(features, dtype=np.float64)
    n = len(y)
    if labels is None:
        comp, m = np.arange(n, dtype=np.int64), n
    else:
        comp, m = _consecutive(np.asarray(labels))
    cnt, sums, sq = component_stats(y, comp, m)
    if labels is None and _canonical(edges.a, edges.b):
        # Already one row per pair, a < b, sorted: _reduce would return them as they are.
        a, b = edges.a.astype(np.int64, copy=False), edges.b.astype(np.int64, copy=False)
        w = np.asarray(edges.w, dtype=np.float64) + 0.0  # bincount's 0.0 + w
    else:
        a, b, w = _reduce(comp[edges.a], comp[edges.b], edges.w, m)
    late = False
    rounds = 0
    delta = _delta(sums / cnt[:, None], cnt, a, b, w, reg)
    while True:
        cand = np.flatnonzero(delta < 0)
        if len(cand) == 0:
            break
        if rounds == max_rounds:
            log.warning("region_merging: stopped at max_rounds=%d before convergence", max_rounds)
            break
        rounds += 1
        group, partner, proposers, mutual = _mutual_best(delta, cand, a, b, m)
        if late:
            group = _add_leaves(group, partner, proposers, mutual, (cnt, sums, sq), (a, b, w), reg)
        mp, m2 = _consecutive(group)
        cnt = np.bincount(mp, weights=cnt, minlength=m2)
        sums = np.stack([np.bincount(mp, weights=sums[:, j], minlength=m2) for j in range(y.shape[1])], 1)
        sq = np.bincount(mp, weights=sq, minlength=m2)
        comp = mp.take(comp)
        a, b, w, delta = _reduce_round(a, b, w, delta, mp, m2, sums / cnt[:, None], cnt, reg)
        late = late or (m - m2) < LATE_FRACTION * m2
        m = m2
    log.debug("region_merging: %d components after %d rounds", m, rounds)
    return relabel_by_first_point(comp)


def _mutual_best(
    delta: np.ndarray, cand: np.ndarray, a: np.ndarray, b: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best partners and the groups of mutual pairs.

    A component's best partner is the one with the most negative ``delta`` among the candidate
    edges ``cand`` (ties: the earlier edge).

    Returns:
        group: (M,) int64, mutual best partners share the smaller id, others keep their own.
        partner: (M,) int64 best partner, -1 for components without a candidate edge.
        proposers: (P,) int64 components with a best partner.
        mutual: (M,) bool, True for members of mutual pairs.
    """
    ac, bc, dc = a.take(cand), b.take(cand), delta.take(cand)
    best_val = np.full(m, np.inf)
    np.minimum.at(best_val, ac, dc)
    np.minimum.at(best_val, bc, dc)
    best_edge = np.full(m, len(a), dtype=np.int64)
    for end in (ac, bc):
        hit = np.flatnonzero(dc == best_val.take(end))
        np.minimum.at(best_edge, end.take(hit), cand.take(hit))
    proposers = np.flatnonzero(best_edge < len(a))
    e = best_edge[proposers]
    partner = np.full(m, -1, dtype=np.int64)
    partner[proposers] = np.where(a[e] == proposers, b[e], a[e])
    mutual = np.zeros(m, dtype=bool)
    mutual[proposers] = best_edge[partner[proposers]] == e
    group = np.arange(m, dtype=np.int64)
    pm = np.flatnonzero(mutual)
    group[pm] = np.minimum(pm, partner[pm])
    return group, partner, proposers, mutual


def _add_leaves(
    group: np.ndarray,
    partner: np.ndarray,
    proposers: np.ndarray,
    mutual: np.ndarray,
    stats: tuple[np.ndarray, np.ndarray, np.ndarray],
    graph: tuple[np.ndarray, np.ndarray, np.ndarray],
    reg: float,
) -> np.ndarray:
    """Let every leaf (a proposer nobody proposes to) join its partner's group, if E drops.

    The partners of leaves stay put this round (they are proposed to, so they are not leaves,
    and only mutual pairs move otherwise). Each resulting group is kept only if merging it as a
    whole lowers the energy (exact ΔE of the group); otherwise its leaves wait.
    """
    cnt, sums, sq = stats
    a, b, w = graph
    m = len(group)
    received = np.zeros(m, dtype=bool)
    received[partner[proposers]] = True
    lc = proposers[~received[proposers] & ~mutual[proposers]]
    if len(lc) == 0:
        return group
    group = group.copy()
    group[lc] = group[partner[lc]]
    # ΔE of each group: SSE(union) - sum of the members' SSE - reg * weight of edges inside.
    g_cnt = np.bincount(group, weights=cnt, minlength=m)
    g_sums = np.stack([np.bincount(group, weights=sums[:, j], minlength=m) for j in range(sums.shape[1])], 1)
    g_sq = np.bincount(group, weights=sq, minlength=m)
    sse = sq - np.einsum("ij,ij->i", sums, sums) / cnt
    nz = g_cnt > 0
    g_sse = np.zeros(m)
    g_sse[nz] = g_sq[nz] - np.einsum("ij,ij->i", g_sums[nz], g_sums[nz]) / g_cnt[nz]
    inside = group[a] == group[b]
    g_w = np.bincount(group[a[inside]], weights=w[inside], minlength=m)
    g_delta = g_sse - np.bincount(group, weights=sse, minlength=m) - reg * g_w
    undo = lc[g_delta[group[lc]] >= 0]
    group[undo] = undo
    return group


def _serial_greedy(
    cnt: np.ndarray, sums: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, reg: float
) -> np.ndarray:
    """Serial greedy merging on a weighted graph of components, with a heap.

    Repeatedly merges the adjacent pair with the most negative ΔE (ties: smallest ids) until no
    ΔE < 0 is left.

    Args:
        cnt: (M,) float sizes; sums: (M, D) float feature sums.
        a, b, w: (E,) undirected edges between components (a != b, one row per pair) and their
            summed weights.
        reg: regularisation strength.

    Returns:
        (M,) int64: the root (smallest id) of the merged component of each input component.
    """
    m = len(cnt)
    size = cnt.tolist()
    total = list(np.asarray(sums, dtype=np.float64))
    adj: list[dict[int, float]] = [{} for _ in range(m)]
    for i, j, wij in zip(a.tolist(), b.tolist(), w.tolist(), strict=True):
        adj[i][j] = adj[i].get(j, 0.0) + wij
        adj[j][i] = adj[j].get(i, 0.0) + wij
    version = [0] * m
    parent = list(range(m))

    def delta(i: int, j: int) -> float:
        d = total[i] / size[i] - total[j] / size[j]
        return size[i] * size[j] / (size[i] + size[j]) * float(d @ d) - reg * adj[i][j]

    heap = [(delta(i, j), i, j, 0, 0) for i in range(m) for j in adj[i] if i < j]
    heap = [entry for entry in heap if entry[0] < 0]
    heapq.heapify(heap)
    while heap:
        _, i, j, vi, vj = heapq.heappop(heap)
        if version[i] != vi or version[j] != vj or parent[i] != i or parent[j] != j:
            continue  # stale: one of the two has changed since this entry was pushed
        # Merge j into i (i < j, so the root stays the smallest id).
        size[i] += size[j]
        total[i] = total[i] + total[j]
        parent[j] = i
        del adj[i][j]
        for k, wjk in adj[j].items():
            if k != i:
                adj[i][k] = adj[i].get(k, 0.0) + wjk
                adj[k][i] = adj[k].get(i, 0.0) + wjk
                del adj[k][j]
        adj[j] = {}
        version[i] += 1
        for k in adj[i]:
            lo, hi = (i, k) if i < k else (k, i)
            dk = delta(lo, hi)
            if dk < 0:
                heapq.heappush(heap, (dk, lo, hi, version[lo], version[hi]))
    root = np.asarray(parent, dtype=np.int64)
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def region_merging_reference(features: np.ndarray, edges: Edges, reg: float) -> np.ndarray:
    """Serial greedy L0 region merging from single points: the slow, obviously correct reference.

    Repeatedly merges the adjacent pair with the most negative ΔE (ties: smallest ids) until no
    ΔE < 0 is left. Pure Python; for small clouds (tests).

    Returns:
        (N,) int64 component ids, consecutive, in order of each component's first point.
    """
    y = np.asarray(features, dtype=np.float64)
    root = _serial_greedy(np.ones(len(y)), y, edges.a, edges.b, edges.w, reg)
    return relabel_by_first_point(root)
