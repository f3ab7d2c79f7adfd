"""PLY point clouds: reading (ascii / binary, either endianness) and writing coloured labelled clouds.

Vertex properties read (all optional except ``x y z``):

* colour: ``red green blue`` (or ``r g b``, ``diffuse_red ...``); ``uchar`` / ``ushort`` are scaled
  to [0, 1], float colours must already be in [0, 1] (see :mod:`partlift.io._common`);
  alpha is ignored;
* normals: ``nx ny nz`` (normalised to unit length on reading);
* labels: semantic from the first of ``semantic``, ``semantic_seg``, ``label``, ``class``;
  instance from the first of ``instance``, ``instance_seg``, ``inst``.

A PLY with a non-empty ``face`` element is a mesh: :func:`ply_has_faces` tells, and
:func:`partlift.io.load_shape` samples it instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import plyfile

from partlift.errors import ShapeFileError
from partlift.io._common import (
    PathLike,
    atomic_write,
    coerce_labels,
    colours_from_typed,
    describe,
    make_shape,
    unit_normals,
)
from partlift.io._validate import check_labels_arg, check_normals_arg, check_rgb_arg, check_xyz_arg
from partlift.types import Shape

log = logging.getLogger(__name__)

_COLOUR_NAMES = (("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green", "diffuse_blue"))
_NORMAL_NAMES = ("nx", "ny", "nz")
SEMANTIC_PROPS = ("semantic", "semantic_seg", "label", "class")
INSTANCE_PROPS = ("instance", "instance_seg", "inst")


def _read_plydata(path: Path) -> plyfile.PlyData:
    try:
        # The memory-mapped path is plyfile's fast one (the other reads row by row) and it checks
        # the file size up front, so a truncated file fails here. Callers copy what they keep.
        return plyfile.PlyData.read(str(path), mmap="c")
    except Exception as exc:  # plyfile raises several unrelated types on malformed input
        raise ShapeFileError(
            f"{path}: cannot read as PLY ({describe(exc)}); expected an ascii or binary PLY file "
            "with a 'vertex' element (the file may be truncated or not a PLY)"
        ) from exc


def ply_has_faces(path: PathLike) -> bool:
    """True iff the PLY header declares a non-empty ``face`` element (the file is a mesh)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            lines = []
            for _ in range(1000):
                line = fh.readline()
                if not line:
                    break
                lines.append(line.decode("ascii", errors="replace").strip())
                if lines[-1] == "end_header":
                    break
    except OSError as exc:
        raise ShapeFileError(f"{path}: cannot open ({describe(exc)})") from exc
    if not lines or lines[0] != "ply":
        raise ShapeFileError(f"{path}: not a PLY file (the first line is not 'ply')")
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "element" and parts[1] == "face":
            if parts[2].isdigit() and int(parts[2]) > 0:
                return True
            log.info("%s: the PLY declares a face element with %s faces; reading it as a point cloud",
                     path, parts[2])
            return False
    return False


def read_ply_cloud(path: PathLike, *, with_labels: bool = True) -> Shape:
    """Read a PLY point cloud.

    Returns:
        Shape with ``xyz`` (N, 3) float32 (float64 where float32 would round it, far from the origin) in the file's frame, ``rgb`` (N, 3) float32 in [0, 1]
        or None, ``normals`` (N, 3) float32 unit or None, ``semantic`` / ``instance`` (N,) int64
        or None (``part_names`` is None: a bare PLY does not name its parts), ``name`` = file stem.

    Raises:
        ShapeFileError: missing ``vertex`` element or ``x y z``, a truncated / corrupt file,
            colours out of range, non-finite coordinates, or an empty cloud.
    """
    path = Path(path)
    ply = _read_plydata(path)
    names = [el.name for el in ply.elements]
    if "vertex" not in names:
        raise ShapeFileError(f"{path}: PLY has no 'vertex' element (elements: {names})")
    data = ply["vertex"].data
    props = set(data.dtype.names or ())
    missing = [c for c in "xyz" if c not in props]
    if missing:
        raise ShapeFileError(
            f"{path}: PLY vertices lack coordinate properties {missing}; found {sorted(props)}"
        )
    src = str(path)
    xyz = np.stack([np.asarray(data[c], dtype=np.float64) for c in "xyz"], axis=1)
    rgb = None
    for trio in _COLOUR_NAMES:
        if all(c in props for c in trio):
            cols = [np.asarray(data[c]) for c in trio]
            kinds = {c.dtype for c in cols}
            if len(kinds) != 1:
                raise ShapeFileError(f"{path}: colour properties {trio} have mixed types {sorted(map(str, kinds))}")
            rgb = colours_from_typed(np.stack(cols, axis=1), src)
            break
    normals = None
    if all(c in props for c in _NORMAL_NAMES):
        normals = unit_normals(np.stack([data[c] for c in _NORMAL_NAMES], axis=1), src)
    semantic = instance = None
    if with_labels:
        n = len(xyz)
        sem_name = next((p for p in SEMANTIC_PROPS if p in props), None)
        ins_name = next((p for p in INSTANCE_PROPS if p in props), None)
        if sem_name:
            semantic = coerce_labels(data[sem_name], n, "semantic", src)
        if ins_name:
            instance = coerce_labels(data[ins_name], n, "instance", src)
    return make_shape(src, xyz=xyz, rgb=rgb, normals=normals, semantic=semantic, instance=instance, name=path.stem)


def write_ply(
    path: PathLike,
    xyz: np.ndarray,
    rgb: np.ndarray | None = None,
    normals: np.ndarray | None = None,
    semantic: np.ndarray | None = None,
    instance: np.ndarray | None = None,
    binary: bool = True,
) -> Path:
    """Write a point cloud as PLY, atomically.

    Args:
        path: output file (parent folders are created).
        xyz: (N, 3) float coordinates, written as ``float x y z`` (``double`` for float64
            coordinates that float32 would round by more than 1e-6 of the extent).
        rgb: (N, 3) colours, uint8 0-255 or float in [0, 1]; written as ``uchar red green blue``.
        normals: (N, 3) float normals, written as ``float nx ny nz``.
        semantic, instance: (N,) int labels (-1 = none), written as ``int semantic`` / ``int instance``.
        binary: binary little-endian (default) or ascii.

    Returns:
        the path written.

    Raises:
        InputError: an array of the wrong shape, dtype or range.
    """
    xyz = check_xyz_arg(xyz, "write_ply", keep_float64=True)
    n = len(xyz)
    fields: list[tuple[str, np.ndarray]] = [("x", xyz[:, 0]), ("y", xyz[:, 1]), ("z", xyz[:, 2])]
    coord = "<f8" if xyz.dtype == np.float64 else "<f4"
    dtypes: list[tuple[str, str]] = [("x", coord), ("y", coord), ("z", coord)]
    if normals is not None:
        nrm = check_normals_arg(normals, n, "write_ply")
        fields += [(c, nrm[:, i]) for i, c in enumerate(_NORMAL_NAMES)]
        dtypes += [(c, "<f4") for c in _NORMAL_NAMES]
    if rgb is not None:
        rgb8 = check_rgb_arg(rgb, n, "write_ply")
        fields += [(c, rgb8[:, i]) for i, c in enumerate(("red", "green", "blue"))]
        dtypes += [(c, "u1") for c in ("red", "green", "blue")]
    for name, lab in (("semantic", semantic), ("instance", instance)):
        if lab is not None:
            fields.append((name, check_labels_arg(lab, n, name, "write_ply")))
            dtypes.append((name, "<i4"))
    arr = np.empty(n, dtype=dtypes)
    for name, values in fields:
        arr[name] = values
    ply = plyfile.PlyData([plyfile.PlyElement.describe(arr, "vertex")], text=not binary, byte_order="<")
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        ply.write(fh)
    log.debug("wrote %d points to %s", n, path)
    return path
