"""The kNN graph, node features, edge weights and the L0 energy of METHODS §1.4.

The energy of a partition of the points into components (superpoints before merging) is

    E = sum_i ||x_i - y_i||**2  +  reg * sum_(i,j) in E  w_ij * [x_i != x_j]

with ``x`` constant on each component and equal to the component's mean feature (the optimal
value for a fixed partition), so the first term is the components' within-sum of squares.
The graph is PartSLIP's directed 10-NN graph. An L0 penalty only sees whether an edge is cut, so
we store it undirected: each unordered pair once, with the weights of ``i -> j`` and ``j -> i``
summed when both directions exist. This is the same energy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from partlift.errors import InputError
from partlift.geometry import Neighbours

__all__ = [
    "Edges",
    "component_stats",
    "edge_weights",
    "knn",
    "l0_energy",
    "node_features",
    "relabel_by_first_point",
    "undirected",
    "unique_inverse",
]


class Edges(NamedTuple):
    """Undirected weighted edges: each unordered pair once, ``a < b``, sorted by ``(a, b)``.

    Attributes:
        a: (E,) int64 first node.
        b: (E,) int64 second node (> a).
        w: (E,) float64 summed weight of the pair's directed edges.
    """

    a: np.ndarray
    b: np.ndarray
    w: np.ndarray


def knn(xyz: np.ndarray, k: int, *, workers: int = -1,
        neighbours: Neighbours | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed kNN edges, self excluded (METHODS §1.4 step 2).

    Args:
        xyz: (N, 3) float coordinates, N >= 2.
        k: neighbours per point, 1 <= k <= N - 1.
        workers: threads of the kd-tree query (-1: all cores).
        neighbours: a :class:`~partlift.geometry.Neighbours` table of the same points (possibly
            in another frame that differs by translation and scale only, e.g. the unit-sphere
            frame of the normals) with at least ``k + 1`` columns: its first ``k + 1`` columns
            are the neighbours (no second kd-tree query) and the distances are recomputed in
            the frame of ``xyz`` exactly as the kd-tree computes them. None: queried here.

    Returns:
        ``(src, dst, dist)``: (N*k,) int64, int64, float64; point ``src[e]`` links to its
        neighbour ``dst[e]`` at Euclidean distance ``dist[e]``, ``k`` consecutive edges per point
        in order of distance. With duplicate points "self" is the point itself, never a twin.
    """
    n = len(xyz)
    d_sorted = None
    if neighbours is None:
        tree = cKDTree(xyz)
        # Queried in the tree's spatial order (memory walked in order, ~1.5x less CPU); each
        # row's answer does not depend on the query order, so rows are simply put back.
        order = tree.indices
        d_sorted, i_sorted = tree.query(xyz[order], k=k + 1, workers=workers)
        d_sorted, i_sorted = d_sorted.reshape(n, k + 1), i_sorted.reshape(n, k + 1)
    else:
        if len(neighbours.order) != n or neighbours.k < k + 1:
            raise InputError(f"knn: neighbours must cover these {n} points with >= {k + 1} columns, got "
                             f"{len(neighbours.order)} rows x {neighbours.k} columns")
        order = neighbours.order
        i_sorted = neighbours.idx[:, : k + 1]
    pts = np.asarray(xyz, dtype=np.float64)
    if bool((i_sorted[:, 0] == order).all()):
        # Every row starts with its own point (no duplicate point ahead of it): the edges are
        # columns 1..k put back in point order, without the self column and the (N, k + 1) mask
        # below (issue 17, fourth round; the same arrays).
        idx = np.empty((n, k), dtype=np.int64)
        dist = np.empty((n, k))
        idx[order] = i_sorted[:, 1:]
        dist[order] = _distances(pts, order, i_sorted[:, 1:]) if d_sorted is None else d_sorted[:, 1:]
        return np.repeat(np.arange(n, dtype=np.int64), k), idx.reshape(-1), dist.reshape(-1)
    if d_sorted is None:
        d_sorted = _distances(pts, order, i_sorted)
    dist = np.empty((n, k + 1))
    idx = np.empty((n, k + 1), dtype=np.int64)
    dist[order] = d_sorted
    idx[order] = i_sorted
    is_self = idx == np.arange(n)[:, None]
    # Ties at distance 0 (duplicate points) may put self after a twin, or beyond k + 1.
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    keep = ~is_self
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    return src, idx[keep].astype(np.int64), dist[keep].astype(np.float64)


def _distances(pts: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(R, C) float64 ``||pts[rows[r]] - pts[cols[r, c]]||``: sqrt of the squared differences
    summed in coordinate order, the kd-tree's own float64 arithmetic, so the distances (and the
    weights) are the ones a query would return."""
    sq = np.zeros(cols.shape)
    for j in range(3):
        col = np.ascontiguousarray(pts[:, j])
        diff = col.take(rows)[:, None] - col.take(cols)
        diff *= diff
        sq += diff
    return np.sqrt(sq)


def node_features(normals: np.ndarray, rgb: np.ndarray | None, rgb_weight: float) -> np.ndarray:
    """y_i = [n_i, rgb_weight * rgb_i] (METHODS §1.4 step 3): (N, 6) float64, or (N, 3) without rgb."""
    if rgb is None:
        return np.asarray(normals, dtype=np.float64)
    return np.hstack([np.asarray(normals, np.float64), rgb_weight * np.asarray(rgb, np.float64)])


def edge_weights(
    features: np.ndarray, src: np.ndarray, dst: np.ndarray, dist: np.ndarray, lambda_edge: float
) -> np.ndarray:
    """w_ij = (1 / (λ_e + d_ij/mean(d) + f_ij/mean(f)))**2 with f_ij = ||y_i - y_j|| (§1.4 step 4).

    A mean of 0 (all points coincide, or all features are equal) makes its term 0.

    Returns:
        (E,) float64 weights of the directed edges ``src -> dst``.
    """
    # ||y_src - y_dst||, summing the squared coordinates in order (as numpy.linalg.norm does
    # for a row) without (E, D) temporaries; src holds k consecutive edges per point when it
    # comes from knn, so y_src is a broadcast.
    feat = np.ascontiguousarray(features, dtype=np.float64)
    n, dim = feat.shape
    k = len(src) // n if n else 0
    if k and len(src) == n * k and bool((np.reshape(src, (n, k)) == np.arange(n)[:, None]).all()):
        ys = [feat[:, j][:, None] for j in range(dim)]
        dst_ = dst.reshape(n, k)
    else:
        ys = [feat[:, j].take(src) for j in range(dim)]
        dst_ = dst
    sq = np.zeros(dst_.shape)
    for j in range(dim):
        diff = ys[j] - feat[:, j].take(dst_)
        diff *= diff
        sq += diff
    f = np.sqrt(sq).reshape(-1)
    denom = np.full(len(src), float(lambda_edge))
    for term in (dist, f):
        mean = float(term.mean()) if len(term) else 0.0
        if mean > 0:
            denom += term / mean
    return 1.0 / denom**2


def undirected(src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int) -> Edges:
    """Merge directed edges into unordered pairs, summing the weights; drops self loops."""
    a = np.minimum(src, dst)
    b = np.maximum(src, dst)
    keep = a != b
    key = a[keep] * np.int64(n) + b[keep]
    uniq, inv = unique_inverse(key)
    return Edges(uniq // n, uniq % n, np.bincount(inv, weights=w[keep], minlength=len(uniq)))


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(keys, return_inverse=True)`` for (E,) int64 keys: sorted unique keys (U,)
    and (E,) int64 positions into them, the same arrays as numpy's.

    Already sorted keys skip the sort. Otherwise one ``argsort`` with numpy's default (unstable,
    vectorised) kind: the answer is a function of the key values only, so the order it leaves
    equal keys in does not matter, and it takes about a third of the CPU of the stable sort used
    before (issue 17). Non-negative keys with room for the position in their top bits are
    sorted as ``key << bits | position`` by one value sort (:func:`_sort_with_order`, issue 17
    fourth round: half the CPU of ``argsort`` and the gather after it), the same arrays again.
    """
    keys = np.asarray(keys)
    if len(keys) == 0:
        return keys.copy(), np.zeros(0, dtype=np.int64)
    if bool((keys[1:] >= keys[:-1]).all()):
        order, sorted_keys = None, keys
    else:
        order, sorted_keys = _sort_with_order(keys)
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    ranks = np.cumsum(first) - 1
    if order is None:
        return sorted_keys[first], ranks
    inv = np.empty(len(keys), dtype=np.int64)
    inv[order] = ranks
    return sorted_keys[first], inv


def _sort_with_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, keys[order])`` with ``order`` an argsort of the (E,) integer ``keys``.

    Where every key is >= 0 and leaves ``bits = bit_length(E - 1)`` free bits below bit 63, the
    position is packed under the key (``key << bits | i``) and the packed values are sorted
    (a value sort, vectorised, no gather): ``order`` is then the stable argsort. Otherwise
    ``numpy.argsort`` (default kind) and a gather.
    """
    n = len(keys)
    bits = max(1, (n - 1).bit_length())
    if keys.dtype.kind in "iu" and int(keys.min()) >= 0 and int(keys.max()) < (1 << (63 - bits)):
        packed = np.arange(n, dtype=np.int64)
        packed |= np.left_shift(keys, bits, dtype=np.int64)
        packed.sort()
        order = packed & ((1 << bits) - 1)
        packed >>= bits
        return order, packed
    order = np.argsort(keys)
    return order, keys[order]


def component_stats(
    features: np.ndarray, labels: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-component size (M,), feature sums (M, D) and sums of squared norms (M,), float64."""
    cnt = np.bincount(labels, minlength=m).astype(np.float64)
    sums = np.stack(
        [np.bincount(labels, weights=features[:, j], minlength=m) for j in range(features.shape[1])],
        axis=1,
    )
    sq = np.bincount(labels, weights=np.einsum("ij,ij->i", features, features), minlength=m)
    return cnt, sums, sq


def l0_energy(features: np.ndarray, labels: np.ndarray, edges: Edges, reg: float) -> float:
    """The §1.4 energy of the partition ``labels`` with each component at its mean feature.

    Args:
        features: (N, D) float node features y.
        labels: (N,) int component id per point, ids in 0..M-1.
        edges: the undirected graph.
        reg: regularisation strength.

    Returns:
        fidelity (within-component sum of squares) + reg * (weight of the cut edges).
    """
    labels = np.asarray(labels, dtype=np.int64)
    m = int(labels.max()) + 1 if len(labels) else 0
    cnt, sums, sq = component_stats(np.asarray(features, np.float64), labels, m)
    present = cnt > 0
    fidelity = float(sq.sum() - (np.einsum("ij,ij->i", sums, sums)[present] / cnt[present]).sum())
    cut = float(edges.w[labels[edges.a] != labels[edges.b]].sum())
    return max(fidelity, 0.0) + reg * cut


def relabel_by_first_point(labels: np.ndarray) -> np.ndarray:
    """(N,) int64 ids 0..M-1 numbering the groups of ``labels`` in order of their first point."""
    labels = np.asarray(labels)
    n = len(labels)
    if labels.ndim == 1 and labels.dtype.kind in "iu" and n and 0 <= int(labels.min()) and int(labels.max()) < 4 * n + 16:
        # Small non-negative ids (every caller here): first occurrence by a minimum scatter,
        # O(N) instead of np.unique's sort; the same ids (an integer function of the input).
        span = int(labels.max()) + 1
        first_of = np.full(span, n, dtype=np.int64)
        np.minimum.at(first_of, labels, np.arange(n, dtype=np.int64))
        present = np.flatnonzero(first_of < n)
        rank = np.full(span, -1, dtype=np.int64)
        rank[present[np.argsort(first_of[present], kind="stable")]] = np.arange(len(present), dtype=np.int64)
        return rank[labels]
    uniq, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    return rank[inv.reshape(-1)]
