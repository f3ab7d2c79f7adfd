"""Huge inputs: run the heavy stages on a capped, spatially uniform subset, label every point.

Rendering, normals, superpoints and voting scale with the number of points; a 5M-point scan
took 4 min and 10.4 GB in the full pipeline (issue 13, item 4), while a part is the same part at
a tenth of the density. So :class:`~partlift.pipeline.Segmenter` hands clouds above
:data:`MAX_POINTS` through :func:`cap_points` — one point per cell of a voxel grid sized so that
about :data:`MAX_POINTS` cells are occupied (spatially uniform: dense regions of a scan do not
dominate, unlike a random subset) — and, after the method ran on the subset,
:func:`carry_labels` gives every input point the labels of its nearest subset point. The result
records it in ``meta["subsample"]`` (and so in ``summary.json``): input and used point counts,
the voxel size in the input's units, and the rule.

Clouds at or below the cap are passed through untouched (identical results to before).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np

from partlift.part_labels import PartLabels
from partlift.types import Shape

__all__ = ["MAX_POINTS", "cap_points", "carry_labels", "voxel_subset"]

log = logging.getLogger(__name__)

MAX_POINTS = 200_000
"""Points the heavy stages see at most (twice the default mesh sampling, 4x a PartNet-E cloud)."""

def _occupied(cells: np.ndarray) -> tuple[np.ndarray, int]:
    """First index (in the given order) of each distinct voxel of (N, 3) non-negative cells."""
    dims = cells.max(axis=0) + 1
    key = (cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]  # exact: dims ~ 1e3-1e4
    _, first = np.unique(key, return_index=True)
    return first, int(first.size)


def voxel_subset(xyz: np.ndarray, max_points: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """(M,) sorted indices of a spatially uniform subset of ``xyz`` with M <= ``max_points``, and
    the voxel size used (input units).

    One point (a seeded random one) per occupied cell of a cubic grid; the cell size is found by
    a few secant steps on log(count) vs log(size) so that the occupied cells are just under
    ``max_points``; a final seeded random pick trims any excess.
    """
    pts = np.asarray(xyz, dtype=np.float64)
    n = len(pts)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # which point of a cell is kept: a seeded random one
    lo = pts.min(axis=0)
    extent = float((pts.max(axis=0) - lo).max()) or 1.0
    # The cell size is searched on a random sample of 5 x max_points (a cell holding ~25 input
    # points at the cap is almost surely hit by the sample too), then applied to all points.
    probe = pts[order[: min(n, 5 * max_points)]]
    # Surfaces fill cells ~ (extent / size)^2: start there, then correct with the measured slope.
    size = extent / np.sqrt(max_points / 2.0)
    sizes, counts = [], []
    for _ in range(8):
        _, count = _occupied(np.floor((probe - lo) / size).astype(np.int64))
        sizes.append(size)
        counts.append(count)
        if 0.85 * max_points <= count <= max_points:
            break
        if len(sizes) >= 2 and counts[-1] != counts[-2]:
            slope = (np.log(counts[-1]) - np.log(counts[-2])) / (np.log(sizes[-1]) - np.log(sizes[-2]))
            slope = float(np.clip(slope, -3.0, -0.5))
        else:
            slope = -2.0
        size = size * float(np.exp(np.log(0.93 * max_points / count) / slope))
    first, _ = _occupied(np.floor((pts[order] - lo) / size).astype(np.int64))
    chosen = order[first]
    if len(chosen) > max_points:
        chosen = rng.choice(chosen, size=max_points, replace=False)
    return np.sort(chosen), float(size)


def cap_points(shape: Shape, max_points: int | None = None, seed: int = 0) -> Shape:
    """``shape`` itself when it has at most ``max_points`` (default :data:`MAX_POINTS`) points,
    else its voxel subset (:func:`voxel_subset`; labels, colours, normals and ``face_index``
    follow their points)."""
    max_points = MAX_POINTS if max_points is None else int(max_points)
    if shape.n_points <= max_points:
        return shape
    t = time.perf_counter()
    index, size = voxel_subset(shape.xyz, max_points, seed)
    sub = shape.subset(index)
    log.warning(
        "%s: %d points; running the heavy stages on a spatially uniform subset of %d points "
        "(voxel %.4g) and carrying the labels back to every point (%.1fs)",
        shape.name, shape.n_points, sub.n_points, size, time.perf_counter() - t,
    )
    return replace(sub, name=shape.name)


def carry_labels(labels: PartLabels, shape: Shape, used: Shape) -> PartLabels:
    """``labels`` (on ``used``'s points) carried to every point of ``shape`` by nearest neighbour.

    Returns ``labels`` unchanged when ``used`` is ``shape`` (no subset was taken). Otherwise a
    PartLabels on ``shape``'s points: semantic, instance and scores of each point's nearest
    ``used`` point (in the input frame); face labels (computed from the subset) are kept;
    ``meta["subsample"]`` says what was done and ``meta["n_points"]`` is the input's count.
    """
    if used is shape or used.n_points == shape.n_points:
        return labels
    from scipy.spatial import cKDTree

    t = time.perf_counter()
    _, nearest = cKDTree(np.asarray(used.xyz, dtype=np.float64)).query(
        np.asarray(shape.xyz, dtype=np.float64), k=1, workers=-1
    )
    meta: dict[str, Any] = dict(labels.meta)
    meta["n_points"] = shape.n_points
    meta["subsample"] = {
        "n_input": shape.n_points,
        "n_used": used.n_points,
        "rule": "one point per voxel of a grid sized to the cap; labels to every input point "
                "by nearest neighbour",
        "max_points": max(MAX_POINTS, used.n_points),
    }
    out = replace(
        labels,
        semantic=labels.semantic[nearest],
        instance=labels.instance[nearest],
        scores=labels.scores[nearest],
        xyz=shape.xyz,
        rgb=shape.rgb,
        meta=meta,
    )
    log.warning("%s: labels carried back to %d points (%.1fs)", shape.name, shape.n_points,
                time.perf_counter() - t)
    return out
