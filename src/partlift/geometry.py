"""Geometry on shapes: unit-sphere normalisation and normal estimation (METHODS §1.1, §1.4).

Frames: :func:`normalize` maps a shape from its source frame into the unit-sphere frame and
records the map in ``Shape.transform`` (composed with any earlier one), so results can be taken
back with ``shape.transform.invert``. Normals are frame-independent under this map (translation
and uniform scale), so they are kept as they are.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from partlift.errors import InputError
from partlift.types import NormalizeTransform, Shape

log = logging.getLogger(__name__)

__all__ = [
    "NORMAL_K",
    "NORMAL_RADIUS",
    "NORMAL_MIN_NEIGHBORS",
    "normalize",
    "normalize_transform",
    "estimate_normals",
    "ensure_normals",
]

# METHODS §1.4 step 1: Open3D KDTreeSearchParamHybrid(radius=0.1, max_nn=30), unit-sphere frame.
NORMAL_K = 30
NORMAL_RADIUS = 0.1
# A plane needs 3 points; a point with fewer neighbours inside the radius uses its k nearest.
NORMAL_MIN_NEIGHBORS = 3
# Points whose spread is below this many ulps (of their own float dtype) of their distance from
# the origin are "all identical": no scale can be defined for them.
_DEGENERATE_ULPS = 8.0

_MODES = ("centroid", "bbox")


def _check_shape(shape: Any, where: str) -> Shape:
    if not isinstance(shape, Shape):
        raise InputError(f"{where}: expected a partlift Shape (see partlift.io.load_shape), got {type(shape).__name__}")
    return shape


def normalize_transform(xyz: np.ndarray, mode: str = "centroid") -> NormalizeTransform:
    """The transform taking (N, 3) points into the unit sphere (METHODS §1.1).

    Args:
        xyz: (N, 3) finite coordinates, N >= 1.
        mode: ``"centroid"`` (PartSLIP/PartSTAD: subtract the mean) or ``"bbox"`` (PartDistill:
            subtract the axis-aligned bounding-box centre); then divide by the largest norm.

    Raises:
        InputError: unknown mode, bad array, or all points identical (no scale exists).
    """
    if mode not in _MODES:
        raise InputError(f"normalize: unknown mode {mode!r}; choose one of {list(_MODES)}")
    given = np.asarray(xyz)
    pts = given.astype(np.float64, copy=False)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise InputError(f"normalize: expected (N, 3) points with N >= 1, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise InputError("normalize: the points contain NaN or infinite coordinates")
    center = pts.mean(axis=0) if mode == "centroid" else 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    scale = float(np.sqrt(((pts - center) ** 2).sum(axis=1).max()))
    # "Identical" is judged at the precision the points were given in (float32 or float64):
    # a spread below a few ulps of their distance from the origin is rounding, not size. A
    # float64 cloud 1e6 from the origin keeps ~1e-10 resolution, so a 1 m object there is fine.
    eps = float(np.finfo(given.dtype if given.dtype.kind == "f" else np.float64).eps)
    tiny = _DEGENERATE_ULPS * eps * max(float(np.abs(center).max()), 1e-30)
    if scale <= tiny:
        raise InputError(
            f"normalize: all {len(pts)} points are identical (at {np.round(center, 6).tolist()}); "
            "a degenerate cloud has no size to normalise — check the file"
        )
    return NormalizeTransform(center=tuple(float(c) for c in center), scale=scale)


def normalize(shape: Shape, mode: str = "centroid") -> Shape:
    """A copy of ``shape`` in the unit-sphere frame (METHODS §1.1).

    ``xyz <- (xyz - c) / s`` with ``c`` the centroid (``mode="centroid"``, PartSLIP/PartSTAD) or
    the bounding-box centre (``mode="bbox"``, PartDistill's student) and ``s`` the largest
    distance of a centred point from the origin, so that ``max ||xyz|| = 1``.

    Returns:
        a new Shape: ``xyz`` (N, 3) float32 in the unit sphere; ``mesh`` (if any) a transformed
        copy; ``transform`` = the old transform (if any) composed with this one; colours,
        normals and labels unchanged.

    Raises:
        InputError: not a Shape, unknown mode, or all points identical.
    """
    shape = _check_shape(shape, "normalize")
    t = normalize_transform(shape.xyz, mode)
    mesh = shape.mesh
    if mesh is not None:
        mesh = mesh.copy()
        matrix = np.eye(4)
        matrix[:3, :3] /= t.scale
        matrix[:3, 3] = -np.asarray(t.center) / t.scale
        mesh.apply_transform(matrix)
    transform = t if shape.transform is None else shape.transform.compose(t)
    return shape.replace(xyz=t.apply(shape.xyz), mesh=mesh, transform=transform)


def estimate_normals(
    xyz: np.ndarray,
    k: int = NORMAL_K,
    radius: float | None = NORMAL_RADIUS,
    *,
    orient: str = "outward",
    workers: int = 1,
) -> np.ndarray:
    """Unit normals by PCA of each point's neighbourhood (METHODS §1.4, Open3D hybrid search).

    The neighbourhood of a point is its ``k`` nearest points (itself included, as Open3D) that lie
    within ``radius``; a point with fewer than 3 such neighbours uses its ``k`` nearest points
    regardless of distance. The normal is the eigenvector of the smallest eigenvalue of the
    neighbourhood covariance.

    Args:
        xyz: (N, 3) float coordinates, N >= 1; ``radius`` is in their units (0.1 is METHODS'
            value for the unit-sphere frame; :func:`ensure_normals` takes care of the frame).
        k: maximum neighbours (``max_nn``), >= 3.
        radius: search radius, > 0, or None for plain kNN.
        orient: ``"outward"``: flip each normal to point away from the centroid (deterministic,
            consistent on convex-ish surfaces); ``"none"``: the eigen-solver's sign (arbitrary,
            as Open3D's unoriented normals).
        workers: threads for the kd-tree query (-1 = all cores).

    Returns:
        (N, 3) float32 unit normals.

    Raises:
        InputError: bad array or parameter.
    """
    given = np.asarray(xyz)
    pts = given.astype(np.float64, copy=False)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise InputError(f"estimate_normals: expected (N, 3) points with N >= 1, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise InputError("estimate_normals: the points contain NaN or infinite coordinates")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < NORMAL_MIN_NEIGHBORS:
        raise InputError(f"estimate_normals: k must be an integer >= {NORMAL_MIN_NEIGHBORS}, got {k!r}")
    if radius is not None and not (np.isfinite(radius) and radius > 0):
        raise InputError(f"estimate_normals: radius must be a positive number or None, got {radius!r}")
    if orient not in ("outward", "none"):
        raise InputError(f"estimate_normals: orient must be 'outward' or 'none', got {orient!r}")
    n = len(pts)
    kk = int(min(k, n))
    tree = cKDTree(pts)
    dist, idx = tree.query(pts, k=kk, workers=workers)
    dist, idx = dist.reshape(n, kk), idx.reshape(n, kk)
    valid = np.ones((n, kk), dtype=bool) if radius is None else dist <= radius
    few = valid.sum(axis=1) < min(NORMAL_MIN_NEIGHBORS, kk)
    valid[few] = True  # fall back to the k nearest
    # Neighbours in coordinates local to their point (small numbers: float32 is exact enough).
    nb = (pts[idx] - pts[:, None, :]).astype(np.float32)  # (N, kk, 3)
    if valid.all():
        cnt = np.full((n, 1, 1), float(kk), dtype=np.float32)
        d = nb - nb.mean(axis=1, keepdims=True)
    else:
        w = valid.astype(np.float32)[:, :, None]
        cnt = w.sum(axis=1, keepdims=True)  # (N, 1, 1)
        nb *= w
        d = nb - nb.sum(axis=1, keepdims=True) / cnt
        d *= w
    cov = (d.transpose(0, 2, 1) @ d / cnt).astype(np.float64)  # (N, 3, 3)
    _, vecs = np.linalg.eigh(cov)
    normals = vecs[:, :, 0]
    if orient == "outward":
        flip = ((pts - pts.mean(axis=0)) * normals).sum(axis=1) < 0
        normals[flip] *= -1.0
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    if few.any():
        log.debug("estimate_normals: %d of %d points had < %d neighbours within %s", int(few.sum()), n,
                  NORMAL_MIN_NEIGHBORS, radius)
    return normals.astype(np.float32)


def ensure_normals(shape: Shape, **kwargs: Any) -> Shape:
    """``shape`` if it has normals, else a copy with normals from :func:`estimate_normals`.

    The estimate runs on the unit-sphere-normalised coordinates, so the METHODS §1.4 radius
    (0.1) means the same thing whatever the shape's frame; ``kwargs`` go to
    :func:`estimate_normals`.
    """
    shape = _check_shape(shape, "ensure_normals")
    if shape.normals is not None:
        return shape
    t = normalize_transform(shape.xyz)
    return shape.replace(normals=estimate_normals(t.apply(shape.xyz), **kwargs))


def speed_normals(points: int | None, device: str) -> dict[str, Any]:
    """``partlift speed normals``: estimate normals on a seeded noisy sphere (CPU only)."""
    del device  # kd-tree + numpy: CPU only
    n = 100_000 if points is None else int(points)
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    xyz += 0.002 * rng.normal(size=(n, 3))
    t0 = time.perf_counter()
    estimate_normals(xyz.astype(np.float32))
    return {"stage": "normals", "points": n, "seconds": round(time.perf_counter() - t0, 4)}
