"""``load_shape``: one entry point for every supported shape file or folder."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from partlift.errors import InputError, ShapeFileError
from partlift.io._common import PathLike, check_file
from partlift.io.arrays import read_npy, read_npz, read_text
from partlift.io.mesh import DEFAULT_MESH_POINTS, load_mesh, mesh_to_shape
from partlift.io.partnete_dir import PC_FILE, is_partnete_dir, load_partnete_dir
from partlift.io.pcd import read_pcd
from partlift.io.ply import ply_has_faces, read_ply_cloud
from partlift.types import Shape

log = logging.getLogger(__name__)

CLOUD_READERS: dict[str, Callable[..., Shape]] = {
    ".npy": read_npy,
    ".npz": read_npz,
    ".pcd": read_pcd,
    ".ply": read_ply_cloud,
    ".txt": read_text,
    ".xyz": read_text,
}
MESH_ONLY_EXTENSIONS = (".glb", ".gltf", ".obj", ".off", ".stl")
# Rotations taking the named up axis to +Y (partlift's object frame is right-handed, +Y up, as
# glTF and PartNet-E): z-up (x, y, z) -> (x, z, -y); x-up (x, y, z) -> (-y, x, z).
UP_ROTATIONS: dict[str, np.ndarray] = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
    "x": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
}
SUPPORTED_EXTENSIONS = tuple(sorted(set(CLOUD_READERS) | set(MESH_ONLY_EXTENSIONS)))


def load_shape(
    path: PathLike,
    *,
    n_points: int | None = None,
    seed: int = 0,
    with_labels: bool = True,
    with_mesh: bool = False,
    up: str = "y",
) -> Shape:
    """Load a point cloud, a mesh (sampled to points) or a PartNet-E shape folder.

    Dispatch:

    * a folder holding ``pc.ply`` -> :func:`partlift.io.load_partnete_dir` (labels, part names,
      category; ``with_mesh`` also loads ``mesh.glb`` and ``face_labels.npy``);
    * ``.ply`` without faces, ``.pcd``, ``.npz``, ``.npy``, ``.xyz``, ``.txt`` -> point cloud, as
      stored (no resampling; see :mod:`partlift.io.arrays` for the array and text layouts);
    * ``.ply`` with faces, ``.obj``, ``.glb``, ``.gltf``, ``.off``, ``.stl`` -> mesh sampled
      area-uniformly with :func:`partlift.io.sample_mesh`; the Shape keeps ``mesh`` and
      ``face_index`` so labels can go back to faces.

    Args:
        path: file or folder.
        n_points: points to sample on a mesh (default :data:`DEFAULT_MESH_POINTS` = 100,000);
            ignored (with a log message) for point clouds, which are never resampled.
        seed: seed of the mesh sampling.
        with_labels: keep labels stored in the file (PLY/PCD/NPZ/text label columns, PartNet-E
            ``label.npy``); False drops them.
        with_mesh: for PartNet-E folders, also load the mesh.
        up: the file's up axis, ``"y"`` (default: glTF, PartNet-E, most meshes), ``"z"`` (CAD,
            scans, many OBJ/STL exports) or ``"x"``. Shapes are rotated so that it becomes +Y —
            the renderer's cameras look around the Y axis — and stay in that frame (outputs too).

    Returns:
        a :class:`~partlift.types.Shape` in the file's own frame (not normalised; see
        :func:`partlift.geometry.normalize`), ``name`` = file stem or ``"<Category>/<id>"``.

    Raises:
        ShapeFileError: missing path, unknown extension, unreadable / corrupt / truncated file,
            empty cloud, NaN/inf coordinates, colours out of range, label-length mismatch.
        InputError: a bad ``n_points`` or ``seed``.
    """
    if n_points is not None and (
        isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1
    ):
        raise InputError(f"load_shape: n_points must be a positive integer or None, got {n_points!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"load_shape: seed must be an integer, got {seed!r}")
    if not isinstance(path, (str, Path)) and not hasattr(path, "__fspath__"):
        raise InputError(f"load_shape: expected a file or folder path, got {type(path).__name__}")
    if up not in UP_ROTATIONS:
        raise InputError(f"load_shape: up must be one of {sorted(UP_ROTATIONS)}, got {up!r}")
    shape = _load(Path(path), n_points, seed, with_labels, with_mesh)
    return shape if up == "y" else rotate_up(shape, up)


def rotate_up(shape: Shape, up: str) -> Shape:
    """``shape`` rotated so that its ``up`` axis (``"x"``/``"y"``/``"z"``) becomes +Y."""
    rot = UP_ROTATIONS[up]
    mesh = shape.mesh
    if mesh is not None:
        mesh = mesh.copy()
        matrix = np.eye(4)
        matrix[:3, :3] = rot
        mesh.apply_transform(matrix)
    xyz = (np.asarray(shape.xyz, dtype=np.float64) @ rot.T).astype(shape.xyz.dtype)
    normals = None if shape.normals is None else (shape.normals @ rot.T).astype(shape.normals.dtype)
    return shape.replace(xyz=xyz, normals=normals, mesh=mesh)


def _load(p: Path, n_points: int | None, seed: int, with_labels: bool, with_mesh: bool) -> Shape:
    if p.is_dir():
        if is_partnete_dir(p):
            return load_partnete_dir(p, with_mesh=with_mesh, with_labels=with_labels)
        raise ShapeFileError(
            f"{p}: is a folder without {PC_FILE}; pass a shape file ({', '.join(SUPPORTED_EXTENSIONS)}) "
            "or a PartNet-E shape folder <root>/<Category>/<id>/ holding pc.ply"
        )
    p = check_file(p)
    ext = p.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise ShapeFileError(
            f"{p}: unknown shape file extension {ext or '(none)'!r}; supported: "
            f"{', '.join(SUPPORTED_EXTENSIONS)} or a PartNet-E shape folder"
        )
    is_mesh = ext in MESH_ONLY_EXTENSIONS or (ext == ".ply" and ply_has_faces(p))
    if is_mesh:
        mesh = load_mesh(p)
        n = DEFAULT_MESH_POINTS if n_points is None else int(n_points)
        shape = mesh_to_shape(mesh, n, int(seed), name=p.stem, source=str(p))
        log.info("%s: sampled %d points on a mesh of %d faces", p, n, len(mesh.faces))
        return shape
    if n_points is not None:
        log.info("%s: n_points=%d ignored: point clouds are loaded as stored", p, n_points)
    shape = CLOUD_READERS[ext](p, with_labels=with_labels)
    log.info("%s: loaded %d points", p, shape.n_points)
    return shape
