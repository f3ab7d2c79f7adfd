"""Shared helpers of the readers and writers: atomic writes, colour scaling, label coercion.

Colour rule (one rule for every format, documented in :mod:`partlift.io`):

* integer colours (``uint8``/``uint16`` or any integer type) are divided by the maximum of their
  type's usual range: 255 for 8-bit and other small ints, 65535 for 16-bit;
* float colours from a *typed* source (a PLY ``float red``, a PCD ``F`` field, a float array in
  an ``.npz``) must already lie in [0, 1]; anything else is an error, never a guess;
* float colours from an *untyped* source (text columns, a combined ``.npy`` array whose dtype is
  shared with the coordinates) are read as [0, 1] when their maximum is <= 1 and as 0-255 when it
  is in (1, 255]; negative values or values above 255 are an error.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from partlift.atomic import replacing
from partlift.errors import InputError, ShapeFileError
from partlift.io._validate import coordinate_dtype
from partlift.types import Shape

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success rename it onto ``path``.

    The parent folder is created if needed. If the block raises, the temporary file is removed
    and ``path`` is left untouched.
    """
    with replacing(path) as tmp, open(tmp, mode) as fh:
        yield fh


def check_file(path: PathLike) -> Path:
    """``path`` as a Path, after checking it is an existing regular file."""
    p = Path(path)
    if not p.exists():
        raise ShapeFileError(f"{p}: no such file; check the path (relative paths start at {Path.cwd()})")
    if not p.is_file():
        raise ShapeFileError(f"{p}: expected a file, got a {'folder' if p.is_dir() else 'special file'}")
    return p


def colours_from_typed(rgb: np.ndarray, source: str) -> np.ndarray:
    """(N, 3) colours of a typed source -> float32 in [0, 1] (see the module docstring)."""
    rgb = np.asarray(rgb)
    if rgb.dtype.kind in "iu":
        top = 65535.0 if rgb.dtype.itemsize == 2 else 255.0
        if rgb.size and (rgb.min() < 0 or rgb.max() > top):
            raise ShapeFileError(
                f"{source}: integer colours must lie in [0, {top:.0f}], got range "
                f"[{rgb.min()}, {rgb.max()}]"
            )
        return (rgb.astype(np.float64) / top).astype(np.float32)
    if rgb.dtype.kind == "f":
        _check_float_colours(rgb, source, upper=1.0)
        return rgb.astype(np.float32)
    raise ShapeFileError(f"{source}: expected numeric colours, got dtype {rgb.dtype}")


def colours_from_untyped(rgb: np.ndarray, source: str) -> np.ndarray:
    """(N, 3) float colours of an untyped source -> float32 [0, 1] (max <= 1: [0, 1]; else 0-255)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    _check_float_colours(rgb, source, upper=255.0)
    if rgb.size and rgb.max() > 1.0:
        log.debug("%s: colours have max %.4g > 1; reading them as 0-255", source, rgb.max())
        rgb = rgb / 255.0
    return rgb.astype(np.float32)


def _check_float_colours(rgb: np.ndarray, source: str, *, upper: float) -> None:
    if not rgb.size:
        return
    if not np.isfinite(rgb).all():
        raise ShapeFileError(f"{source}: colours contain NaN or infinite values")
    lo, hi = float(rgb.min()), float(rgb.max())
    if lo < 0.0 or hi > upper:
        hint = (
            "float colours in this format must be in [0, 1]; divide 0-255 colours by 255"
            if upper == 1.0
            else "expected colours in [0, 1] or 0-255"
        )
        raise ShapeFileError(f"{source}: colours out of range [{lo:.4g}, {hi:.4g}]; {hint}")


def coerce_labels(arr: Any, n_points: int | None, what: str, source: str) -> np.ndarray:
    """A label array as (N,) int64, checking integrality, ``>= -1`` and (if given) the length."""
    a = np.asarray(arr)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ShapeFileError(f"{source}: {what} labels must be a 1-D array, got shape {a.shape}")
    if a.dtype.kind == "f":
        if a.size and (not np.isfinite(a).all() or (a != np.round(a)).any()):
            raise ShapeFileError(f"{source}: {what} labels must be integers, got non-integer floats")
    elif a.dtype.kind not in "iub":
        raise ShapeFileError(f"{source}: {what} labels must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if n_points is not None and a.shape[0] != n_points:
        raise ShapeFileError(
            f"{source}: {what} labels have length {a.shape[0]} but the cloud has {n_points} points; "
            "labels must give one value per point, in point order"
        )
    if a.size and a.min() < -1:
        raise ShapeFileError(f"{source}: {what} labels must be >= -1 (-1 = unlabelled), got {a.min()}")
    return a


def unit_normals(normals: np.ndarray, source: str) -> np.ndarray:
    """(N, 3) normals -> float32 unit vectors (zero vectors stay zero, with a warning)."""
    nrm = np.asarray(normals, dtype=np.float64)
    if not np.isfinite(nrm).all():
        raise ShapeFileError(f"{source}: normals contain NaN or infinite values")
    length = np.linalg.norm(nrm, axis=1, keepdims=True)
    zero = length[:, 0] == 0
    if zero.any():
        log.warning("%s: %d of %d normals have zero length", source, int(zero.sum()), len(nrm))
    return (nrm / np.where(length == 0, 1.0, length)).astype(np.float32)


def make_shape(source: str, **fields: Any) -> Shape:
    """Build a :class:`Shape`, turning its validation errors into ``ShapeFileError``s naming ``source``."""
    xyz = np.asarray(fields.pop("xyz"))
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ShapeFileError(f"{source}: expected (N, 3) coordinates, got shape {xyz.shape}")
    if xyz.shape[0] == 0:
        raise ShapeFileError(f"{source}: the file holds 0 points; expected a non-empty point cloud")
    # Coordinates stay float64 where float32 would round them (a cloud 1e5 from the origin was
    # quantised to ~8 mm, issue 13 item 3); centring happens later, in float64
    # (geometry.normalize). Everything else is float32, as before.
    try:
        return Shape(xyz=np.ascontiguousarray(coordinate_dtype(xyz)), **fields)
    except ShapeFileError:
        raise
    except InputError as exc:
        raise ShapeFileError(f"{source}: {exc}") from exc


def describe(exc: BaseException) -> str:
    """A one-line description of a third-party exception."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
