"""Argument checks of the writers: arrays handed in by a caller (errors are ``InputError``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from partlift.errors import InputError


def check_xyz_arg(xyz: Any, where: str, *, keep_float64: bool = False) -> np.ndarray:
    """(N, 3) finite float coordinates -> float32 (float64 kept with ``keep_float64`` when
    float32 would move a point by more than 1e-6 of the cloud's extent, e.g. far from the origin)."""
    a = np.asarray(xyz)
    if a.ndim != 2 or a.shape[1] != 3 or a.dtype.kind not in "fiu":
        raise InputError(f"{where}: expected xyz of shape (N, 3) and a numeric dtype, got {a.shape} {a.dtype}")
    if not np.isfinite(a).all():
        raise InputError(f"{where}: xyz contains NaN or infinite values; remove those points first")
    return coordinate_dtype(a) if keep_float64 else a.astype(np.float32)


def coordinate_dtype(xyz: np.ndarray) -> np.ndarray:
    """(N, 3) coordinates as float32, unless float32 would move a point by more than 1e-6 of the
    cloud's extent (far from the origin: a 1 m object at 1e5 m) — then float64 (issue 13 item 3).

    Ordinary inputs (float32 files, unit-scale meshes) stay float32 exactly as before.
    """
    a = np.asarray(xyz)
    if a.dtype != np.float64 or not len(a) or not np.isfinite(a).all():
        return a.astype(np.float32)  # NaN/inf: the caller's finiteness check reports them
    low = a.astype(np.float32)
    extent = float((a.max(axis=0) - a.min(axis=0)).max())
    if float(np.abs(a - low).max()) > 1e-6 * extent:
        return a
    return low


def check_normals_arg(normals: Any, n: int, where: str) -> np.ndarray:
    a = np.asarray(normals)
    if a.shape != (n, 3) or a.dtype.kind not in "fiu":
        raise InputError(f"{where}: expected normals of shape ({n}, 3), got {a.shape} {a.dtype}")
    if not np.isfinite(a).all():
        raise InputError(f"{where}: normals contain NaN or infinite values")
    return a.astype(np.float32)


def check_rgb_arg(rgb: Any, n: int, where: str) -> np.ndarray:
    """(N, 3) or (N, 4) colours, uint8 0-255 or float [0, 1] -> (N, 3) uint8 (alpha dropped)."""
    a = np.asarray(rgb)
    if a.ndim != 2 or a.shape[0] != n or a.shape[1] not in (3, 4):
        raise InputError(f"{where}: expected colours of shape ({n}, 3), got {a.shape}")
    a = a[:, :3]
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise InputError(f"{where}: integer colours must be in [0, 255], got [{a.min()}, {a.max()}]")
        return a.astype(np.uint8)
    if a.dtype.kind == "f":
        if a.size and (not np.isfinite(a).all() or a.min() < 0.0 or a.max() > 1.0):
            raise InputError(
                f"{where}: float colours must be in [0, 1], got [{np.nanmin(a):.4g}, {np.nanmax(a):.4g}]; "
                "pass uint8 for 0-255 colours"
            )
        return np.round(a.astype(np.float64) * 255.0).astype(np.uint8)
    raise InputError(f"{where}: expected numeric colours, got dtype {a.dtype}")


def check_labels_arg(labels: Any, n: int | None, what: str, where: str) -> np.ndarray:
    """(N,) integer labels >= -1 -> int64."""
    a = np.asarray(labels)
    if a.ndim != 1 or a.dtype.kind not in "iu" or (n is not None and a.shape[0] != n):
        expected = f"({n},)" if n is not None else "(N,)"
        raise InputError(f"{where}: expected {what} labels of shape {expected} and an integer dtype, got {a.shape} {a.dtype}")
    if a.size and a.min() < -1:
        raise InputError(f"{where}: {what} labels must be >= -1 (-1 = none), got {a.min()}")
    if a.size and a.max() > np.iinfo(np.int32).max:
        raise InputError(f"{where}: {what} labels exceed the int32 range")
    return a.astype(np.int64)
