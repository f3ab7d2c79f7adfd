"""Superpoints of a point cloud: features, graph, L0 minimiser, small-component merging (§1.4)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from partlift.errors import InputError
from partlift.superpoints.config import SuperpointConfig
from partlift.superpoints.graph import (
    Edges,
    edge_weights,
    knn,
    l0_energy,
    node_features,
    relabel_by_first_point,
    undirected,
)

log = logging.getLogger(__name__)

__all__ = [
    "SuperpointInfo",
    "compute_superpoints",
    "compute_superpoints_info",
    "list_minimisers",
    "superpoints_for_shape",
]


def _merge(features: np.ndarray, edges: Edges, config: SuperpointConfig) -> np.ndarray:
    from partlift.superpoints.fusion import region_merging

    return region_merging(features, edges, config.reg, max_rounds=config.max_rounds)


def _cutpursuit(features: np.ndarray, edges: Edges, config: SuperpointConfig) -> np.ndarray:
    from partlift.superpoints.cutpursuit import cut_pursuit

    return cut_pursuit(
        features,
        edges,
        config.reg,
        max_iterations=config.max_iterations,
        flow_steps=config.flow_steps,
        max_rounds=config.max_rounds,
    )


# SuperpointConfig.method -> minimiser(features (N, D), edges, config) -> (N,) component ids.
_MINIMISERS: dict[str, Callable[[np.ndarray, Edges, SuperpointConfig], np.ndarray]] = {
    "merge": _merge,
    "cutpursuit": _cutpursuit,
}


def list_minimisers() -> list[str]:
    """Names accepted by ``SuperpointConfig.method``, sorted."""
    return sorted(_MINIMISERS)


@dataclass(frozen=True, eq=False)
class SuperpointInfo:
    """Superpoints with what it took to make them.

    Attributes:
        superpoints: (N,) int64 final ids 0..M-1, numbered in order of each superpoint's first
            point.
        components: (N,) int64 components of the minimiser before small-component merging.
        energy: §1.4 energy of ``components`` (features at component means).
        seconds: wall time per step: "normals", "graph", "minimise", "merge_small".
        config: the settings used.
    """

    superpoints: np.ndarray
    components: np.ndarray
    energy: float
    seconds: dict[str, float] = field(default_factory=dict)
    config: SuperpointConfig = field(default_factory=SuperpointConfig)

    @property
    def n_superpoints(self) -> int:
        return int(self.superpoints.max()) + 1

    @property
    def n_components(self) -> int:
        return int(self.components.max()) + 1


def _check_points(name: str, arr: Any, n: int | None) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise InputError(f"compute_superpoints: {name} must be a numpy array of shape (N, 3), got {type(arr).__name__}")
    if arr.ndim != 2 or arr.shape[1] != 3 or (n is not None and arr.shape[0] != n):
        want = "(N, 3)" if n is None else f"({n}, 3), one row per point of xyz"
        raise InputError(f"compute_superpoints: {name} must have shape {want}, got {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise InputError(f"compute_superpoints: {name} must be numeric, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr).all(axis=1)).sum())
        raise InputError(f"compute_superpoints: {bad} rows of {name} contain NaN or infinite values; repair or drop them")
    return arr


def compute_superpoints_info(
    xyz: np.ndarray,
    *,
    normals: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
    config: SuperpointConfig | None = None,
    neighbours: Any = None,
) -> SuperpointInfo:
    """Like :func:`compute_superpoints`, returning a :class:`SuperpointInfo` (energy, timings)."""
    config = SuperpointConfig() if config is None else config
    if not isinstance(config, SuperpointConfig):
        raise InputError(f"compute_superpoints: config must be a SuperpointConfig, got {type(config).__name__}")
    xyz = _check_points("xyz", xyz, None)
    n = len(xyz)
    if n == 0:
        raise InputError("compute_superpoints: the point cloud is empty; expected at least 1 point")
    if normals is not None:
        normals = _check_points("normals", normals, n)
    if rgb is not None:
        rgb = _check_points("rgb", rgb, n)
        if rgb.min() < 0 or rgb.max() > 1:
            raise InputError(
                f"compute_superpoints: rgb must be floats in [0, 1], got range [{rgb.min()}, {rgb.max()}]; "
                "divide 0-255 colours by 255"
            )
    if neighbours is not None:
        from partlift.geometry import Neighbours

        if not isinstance(neighbours, Neighbours) or len(neighbours.order) != n:
            got = f"{len(neighbours.order)} rows" if isinstance(neighbours, Neighbours) else type(neighbours).__name__
            raise InputError(f"compute_superpoints: neighbours must be a partlift.geometry.Neighbours table of these "
                             f"{n} points, got {got}; build it with nearest_neighbours(xyz, k) or pass None")
    pts = xyz.astype(np.float64)
    seconds: dict[str, float] = {}
    if n == 1:
        one = np.zeros(1, dtype=np.int64)
        return SuperpointInfo(one, one, 0.0, seconds, config)

    t0 = time.perf_counter()
    k = min(config.k, n - 1)
    if normals is None:
        normals, neighbours = _estimate_normals(pts, config, k + 1)
    seconds["normals"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if k < config.k:
        log.info("compute_superpoints: %d points, using k=%d neighbours instead of %d", n, k, config.k)
    features = node_features(normals, rgb, config.rgb_weight)
    shared = neighbours if neighbours is not None and neighbours.k >= k + 1 else None
    src, dst, dist = knn(pts, k, neighbours=shared)
    edges = undirected(src, dst, edge_weights(features, src, dst, dist, config.lambda_edge), n)
    seconds["graph"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    components = relabel_by_first_point(_MINIMISERS[config.method](features, edges, config))
    seconds["minimise"] = time.perf_counter() - t0
    energy = l0_energy(features, components, edges, config.reg)

    t0 = time.perf_counter()
    from partlift.superpoints.merge import merge_small_components

    if config.small_merge == "matched":
        superpoints = _matched(components, pts, features, normals, rgb, edges, config)
    else:
        superpoints = merge_small_components(
            components,
            pts,
            min_size=config.min_size,
            rule=config.small_merge,
            features=features,
            edges=edges,
            reg=config.reg,
        )
    seconds["merge_small"] = time.perf_counter() - t0
    log.debug(
        "compute_superpoints: %d points -> %d components (E=%.4g) -> %d superpoints in %.2fs",
        n, int(components.max()) + 1, energy, int(superpoints.max()) + 1, sum(seconds.values()),
    )
    return SuperpointInfo(superpoints, components, energy, seconds, config)


def _matched(components: np.ndarray, pts: np.ndarray, features: np.ndarray, normals: np.ndarray,
             rgb: np.ndarray | None, edges: Edges, config: SuperpointConfig) -> np.ndarray:
    """``small_merge="matched"``: :func:`partlift.superpoints.matched.matched_merge`, its plane
    residuals in the unit-sphere frame (METHODS §1.1) so that ``planar_weight`` is scale-free."""
    from partlift.geometry import normalize_transform
    from partlift.superpoints.matched import matched_merge

    unit = normalize_transform(pts.astype(np.float32)).apply(pts).astype(np.float64)
    mrgb = config.rgb_weight if config.merge_rgb_weight is None else config.merge_rgb_weight
    merge_features = features if mrgb == config.rgb_weight else node_features(normals, rgb, mrgb)
    return matched_merge(components, unit, min_size=config.min_size, fragment_size=config.fragment_size,
                         features=features, merge_features=merge_features, edges=edges, reg=config.reg,
                         planar_weight=config.planar_weight)


def _estimate_normals(xyz: np.ndarray, config: SuperpointConfig, graph_k: int) -> tuple[np.ndarray, Any]:
    """Normals by the §1.4 hybrid search, in the unit-sphere frame of ``xyz`` (METHODS §1.1),
    and the neighbour table of that search (at least ``graph_k`` columns, for the graph)."""
    from partlift.geometry import nearest_neighbours, normalize_transform, normals_and_neighbours

    unit = normalize_transform(xyz.astype(np.float32)).apply(xyz)
    k = min(config.normal_k, len(xyz))
    if len(xyz) < 3:  # no plane through fewer than 3 points: zero normals, colour and position decide
        return np.zeros_like(unit, dtype=np.float32), nearest_neighbours(unit, max(k, graph_k), workers=-1)
    return normals_and_neighbours(unit, k=k, radius=config.normal_radius, table_k=graph_k, workers=-1)


def compute_superpoints(
    xyz: np.ndarray,
    *,
    normals: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
    config: SuperpointConfig | None = None,
    neighbours: Any = None,
) -> np.ndarray:
    """Over-segment a point cloud into superpoints (METHODS §1.4).

    Features ``y = [n, rgb_weight * rgb]`` on the directed k-NN graph with weights
    ``w_ij = (1/(λ_e + d_ij/mean(d) + f_ij/mean(f)))**2``; the L0 energy
    ``sum ||x_i - y_i||**2 + reg * sum w_ij [x_i != x_j]`` is minimised by ``config.method``
    (default: greedy L0 region merging, our choice -- see docs/superpoints.md); components of
    ``<= min_size`` points are then absorbed by ``config.small_merge``.

    Args:
        xyz: (N, 3) float coordinates, N >= 1. The graph weights are scale-free; the §1.4
            normal radius is applied in the unit-sphere frame of ``xyz`` (centroid, max norm
            1, METHODS §1.1), so any frame works.
        normals: (N, 3) float unit normals (sign arbitrary), or None to estimate them with the
            hybrid search (``normal_k``, ``normal_radius``).
        rgb: (N, 3) float colours in [0, 1], or None: the features are the normals alone.
        config: settings (default ``SuperpointConfig()``: PartSLIP's constants).
        neighbours: a :class:`~partlift.geometry.Neighbours` table of these points (e.g. the one
            the normals were estimated from, :func:`partlift.prepare.prepare_shape`), reused
            for the kNN graph when it has at least ``k + 1`` columns instead of a second
            kd-tree query; None: queried here. When ``normals`` is None the normal search's own
            table is reused. Same graph either way (``graph.knn``), ties at equal distance aside.

    Returns:
        (N,) int64 superpoint ids 0..M-1, consecutive, numbered in order of each superpoint's
        first point. Deterministic: the same inputs give the same ids.

    Raises:
        InputError: wrong shapes, NaN/inf values, colours outside [0, 1], empty cloud.
    """
    return compute_superpoints_info(xyz, normals=normals, rgb=rgb, config=config,
                                    neighbours=neighbours).superpoints


def superpoints_for_shape(shape: Any, config: SuperpointConfig | None = None, *,
                          neighbours: Any = None) -> np.ndarray:
    """Superpoints of a :class:`~partlift.types.Shape`: its normals if it has them, else estimated.

    The shape is expected in the unit-sphere frame (``partlift.geometry.normalize``); any frame
    gives the same result since the normal search runs in the unit-sphere frame anyway.
    ``neighbours``: see :func:`compute_superpoints`.

    Returns:
        (N,) int64 superpoint ids (see :func:`compute_superpoints`).
    """
    from partlift.types import Shape

    if not isinstance(shape, Shape):
        raise InputError(f"superpoints_for_shape: expected a partlift Shape, got {type(shape).__name__}")
    return compute_superpoints(shape.xyz, normals=shape.normals, rgb=shape.rgb, config=config,
                               neighbours=neighbours)
