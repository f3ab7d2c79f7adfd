"""Point clouds stored as numpy arrays (``.npz``, ``.npy``) or text columns (``.xyz``, ``.txt``).

``.npz`` keys (the first present of each list is used; other keys are ignored):

* coordinates (required): ``xyz``, ``points``, ``pos``, ``coords``
* colours: ``rgb``, ``colors``, ``colours`` — uint8 is 0-255, float must be in [0, 1]
* normals: ``normals``, ``normal``
* semantic labels: ``semantic``, ``semantic_seg``, ``label``, ``labels``
* instance ids: ``instance``, ``instance_seg``

``.npy``: one (N, C) numeric array; C = 3 is ``xyz``, 6 is ``xyz rgb``, 9 is ``xyz rgb normals``.

``.xyz`` / ``.txt``: one point per line, columns separated by white space or commas, ``#``
starts a comment. The column count decides the meaning:

====  =====================================================
 3    x y z
 4    x y z label
 6    x y z r g b
 7    x y z nx ny nz label  (ShapeNetPart's normal files)
 9    x y z r g b nx ny nz
10    x y z r g b nx ny nz label
====  =====================================================

Colours in ``.npy`` and text columns have no type of their own: they are read as [0, 1] when
their maximum is <= 1, else as 0-255 (values above 255 or below 0 are an error).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from partlift.errors import ShapeFileError
from partlift.io._common import (
    PathLike,
    coerce_labels,
    colours_from_typed,
    colours_from_untyped,
    describe,
    make_shape,
    unit_normals,
)
from partlift.types import Shape

NPZ_KEYS: dict[str, tuple[str, ...]] = {
    "xyz": ("xyz", "points", "pos", "coords"),
    "rgb": ("rgb", "colors", "colours"),
    "normals": ("normals", "normal"),
    "semantic": ("semantic", "semantic_seg", "label", "labels"),
    "instance": ("instance", "instance_seg"),
}

# text column count -> (slice name, first column, last column + 1)
TEXT_LAYOUTS: dict[int, tuple[tuple[str, int, int], ...]] = {
    3: (("xyz", 0, 3),),
    4: (("xyz", 0, 3), ("semantic", 3, 4)),
    6: (("xyz", 0, 3), ("rgb", 3, 6)),
    7: (("xyz", 0, 3), ("normals", 3, 6), ("semantic", 6, 7)),
    9: (("xyz", 0, 3), ("rgb", 3, 6), ("normals", 6, 9)),
    10: (("xyz", 0, 3), ("rgb", 3, 6), ("normals", 6, 9), ("semantic", 9, 10)),
}
NPY_LAYOUTS = {c: TEXT_LAYOUTS[c] for c in (3, 6, 9)}


def _xyz_of(path: Path, arr: Any) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim != 2 or a.shape[1] != 3 or a.dtype.kind not in "fiu":
        raise ShapeFileError(f"{path}: expected (N, 3) numeric coordinates, got shape {a.shape} dtype {a.dtype}")
    return a.astype(np.float64)


def read_npz(path: PathLike, *, with_labels: bool = True) -> Shape:
    """Read a point cloud from an ``.npz`` archive (keys in the module docstring)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ShapeFileError(
            f"{path}: cannot read as .npz ({describe(exc)}); expected a numpy archive of plain "
            "arrays (np.savez) with an 'xyz' or 'points' array"
        ) from exc
    found = {field: next((k for k in keys if k in arrays), None) for field, keys in NPZ_KEYS.items()}
    if found["xyz"] is None:
        raise ShapeFileError(
            f"{path}: no coordinate array; expected one of the keys {list(NPZ_KEYS['xyz'])}, "
            f"found {sorted(arrays)}"
        )
    src = str(path)
    xyz = _xyz_of(path, arrays[found["xyz"]])
    n = len(xyz)
    fields: dict[str, Any] = {}
    if found["rgb"] is not None:
        rgb = np.asarray(arrays[found["rgb"]])
        if rgb.ndim != 2 or rgb.shape[0] != n or rgb.shape[1] not in (3, 4):
            raise ShapeFileError(f"{path}: '{found['rgb']}' must be ({n}, 3) colours, got {rgb.shape}")
        fields["rgb"] = colours_from_typed(rgb[:, :3], src)
    if found["normals"] is not None:
        nrm = np.asarray(arrays[found["normals"]])
        if nrm.shape != (n, 3):
            raise ShapeFileError(f"{path}: '{found['normals']}' must be ({n}, 3) normals, got {nrm.shape}")
        fields["normals"] = unit_normals(nrm, src)
    if with_labels:
        for what in ("semantic", "instance"):
            if found[what] is not None:
                fields[what] = coerce_labels(arrays[found[what]], n, what, src)
    return make_shape(src, xyz=xyz, name=path.stem, **fields)


def read_npy(path: PathLike, *, with_labels: bool = True) -> Shape:
    """Read a point cloud from an ``.npy`` (N, 3 | 6 | 9) array (layouts in the module docstring)."""
    del with_labels  # an .npy cloud carries no labels
    path = Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ShapeFileError(
            f"{path}: cannot read as .npy ({describe(exc)}); expected a plain numeric (N, 3), "
            "(N, 6) or (N, 9) array saved with np.save (label dicts belong in label files)"
        ) from exc
    if arr.ndim != 2 or arr.shape[1] not in NPY_LAYOUTS or arr.dtype.kind not in "fiu":
        raise ShapeFileError(
            f"{path}: expected a numeric (N, 3) xyz, (N, 6) xyz+rgb or (N, 9) xyz+rgb+normals "
            f"array, got shape {arr.shape} dtype {arr.dtype}"
        )
    return _from_columns(path, arr, NPY_LAYOUTS[arr.shape[1]], with_labels=False)


def read_text(path: PathLike, *, with_labels: bool = True) -> Shape:
    """Read whitespace- or comma-separated columns (layouts in the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShapeFileError(f"{path}: cannot read as text ({describe(exc)})") from exc
    rows = [line.split("#", 1)[0].replace(",", " ").split() for line in text.splitlines()]
    rows = [r for r in rows if r]
    if not rows:
        raise ShapeFileError(f"{path}: the file holds 0 points; expected one 'x y z ...' row per point")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ShapeFileError(f"{path}: rows have different column counts {sorted(widths)}; expected the same count on every row")
    width = widths.pop()
    if width not in TEXT_LAYOUTS:
        raise ShapeFileError(
            f"{path}: rows have {width} columns; expected one of {sorted(TEXT_LAYOUTS)} "
            "(3 xyz, 4 xyz+label, 6 xyz+rgb, 7 xyz+normals+label, 9 xyz+rgb+normals, 10 +label)"
        )
    try:
        arr = np.array([v for r in rows for v in r], dtype=np.float64).reshape(len(rows), width)
    except ValueError as exc:
        raise ShapeFileError(f"{path}: non-numeric value in the columns ({describe(exc)}); remove header lines or comment them with '#'") from exc
    return _from_columns(path, arr, TEXT_LAYOUTS[width], with_labels=with_labels)


def _from_columns(
    path: Path, arr: np.ndarray, layout: tuple[tuple[str, int, int], ...], *, with_labels: bool
) -> Shape:
    src = str(path)
    n = len(arr)
    fields: dict[str, Any] = {}
    for name, a, b in layout:
        block = arr[:, a:b]
        if name == "xyz":
            fields["xyz"] = block.astype(np.float64)
        elif name == "rgb":
            fields["rgb"] = colours_from_untyped(block, src)
        elif name == "normals":
            fields["normals"] = unit_normals(block, src)
        elif name == "semantic" and with_labels:
            fields["semantic"] = coerce_labels(block[:, 0], n, "semantic", src)
    return make_shape(src, name=path.stem, **fields)
