"""Meshes: loading through trimesh, area-uniform coloured sampling, coloured GLB export.

Colour of a sampled point (details in :mod:`partlift.io.mesh_colour`): a textured face looks
its UV up in its own material's base-colour image (bilinear, repeat wrap, times the glTF
``baseColorFactor``); other faces interpolate their vertex colours, else take their face colour,
else their material's main colour; a mesh without any colour gives ``rgb = None``.

Double-sided exports: PartNet-Mobility meshes (and other exports of double-sided materials)
repeat every face as a coincident, opposite-facing twin, and often give the twin glTF's default
material (untextured, exactly white). Sampling both would put a white point next to every
coloured one, and the renders would look speckled white. :func:`sample_mesh` therefore skips a
face that is untextured and exactly white when its coincident twin is not (measured on the six
real dev meshes: 0–97 % of the faces, see :func:`white_backface_twins`); other faces, and twins
of equal colour, are sampled as before.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from partlift.errors import InputError, ShapeFileError
from partlift.io._common import PathLike, atomic_write, describe, make_shape
from partlift.io._validate import check_rgb_arg, coordinate_dtype
from partlift.io.mesh_colour import METADATA_KEY, FaceColours
from partlift.types import Shape

log = logging.getLogger(__name__)

# Points sampled from a mesh when the caller does not say: PartNet-E clouds are "on the order of
# 1e5" points (METHODS §1.5.1) and DESIGN §4 sizes every target for 100k-point shapes.
DEFAULT_MESH_POINTS = 100_000

MESH_EXTENSIONS = (".glb", ".gltf", ".obj", ".off", ".ply", ".stl")


def load_mesh(path: PathLike) -> trimesh.Trimesh:
    """Load a mesh file as one ``trimesh.Trimesh``, exactly as ``trimesh.load(path, force="mesh")``.

    A scene (several geometries, e.g. a GLB) is concatenated in scene order with its transforms
    applied, so face ``f`` of the result is face ``f`` of ``trimesh.load(path, force="mesh")`` —
    the order PartNet-E-style ``face_labels.npy`` use. The per-part colour sources are kept in
    ``mesh.metadata["partlift_face_colours"]`` (a :class:`~partlift.io.mesh_colour.FaceColours`)
    for :func:`sample_mesh`: trimesh's packed texture atlas in ``mesh.visual`` is wrong for
    repeat-wrapped UVs.

    Raises:
        ShapeFileError: missing file, unknown format, unreadable data, no faces, non-finite vertices.
    """
    path = Path(path)
    if not path.is_file():
        raise ShapeFileError(f"{path}: no such file")
    if path.suffix.lower() == ".obj":
        _check_obj_vertices(path)
    try:
        # Same as trimesh.load(path, force="mesh") (= load_scene(...).to_mesh()), but keeping the
        # parts so that each face keeps its own texture and unwrapped UVs (see mesh_colour).
        scene = trimesh.load_scene(str(path))
        parts = [g for g in scene.dump() if isinstance(g, trimesh.Trimesh)]
        mesh = trimesh.util.concatenate(parts)
    except Exception as exc:  # trimesh raises many unrelated types on malformed input
        raise ShapeFileError(
            f"{path}: cannot read as a mesh ({describe(exc)}); expected a valid "
            f"{path.suffix.lstrip('.').upper() or 'mesh'} file"
        ) from exc
    if not isinstance(mesh, trimesh.Trimesh):
        raise ShapeFileError(f"{path}: expected a triangle mesh, trimesh returned {type(mesh).__name__}")
    if len(mesh.faces) == 0:
        raise ShapeFileError(f"{path}: the mesh has no faces; expected a surface mesh (a point cloud needs a point-cloud format)")
    if not np.isfinite(mesh.vertices).all():
        raise ShapeFileError(f"{path}: the mesh has NaN or infinite vertex coordinates")
    colours = FaceColours.from_meshes(parts)
    if colours is not None and colours.n_faces == len(mesh.faces):
        mesh.metadata[METADATA_KEY] = colours
    return mesh


def _check_obj_vertices(path: Path) -> None:
    """Refuse an OBJ with NaN/inf vertex coordinates (trimesh drops their faces silently)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ShapeFileError(f"{path}: cannot read ({describe(exc)})") from exc
    low = data.lower()
    if b"nan" not in low and b"inf" not in low:
        return
    bad = 0
    for line in low.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == b"v":
            try:
                if not np.isfinite([float(f) for f in fields[1:4]]).all():
                    bad += 1
            except ValueError:
                continue
    if bad:
        raise ShapeFileError(
            f"{path}: {bad} vertices have NaN or infinite coordinates; the faces using them would be "
            "dropped silently — fix or remove those vertices"
        )


def check_mesh_arg(mesh: Any, where: str) -> trimesh.Trimesh:
    if not isinstance(mesh, trimesh.Trimesh):
        raise InputError(f"{where}: expected a trimesh.Trimesh, got {type(mesh).__name__}")
    if len(mesh.faces) == 0:
        raise InputError(f"{where}: the mesh has no faces")
    return mesh


def white_backface_twins(mesh: trimesh.Trimesh, colours: FaceColours | None) -> np.ndarray:
    """(F,) bool: faces that are the default-white back side of a coloured double-sided face.

    A face is flagged when (1) another face has the same three corner positions (quantised to
    1e-6 of the bounding-box diagonal) with the opposite winding, (2) it is untextured with all
    corner colours exactly (1, 1, 1) (glTF's default material), and (3) that twin is not.
    Nothing is flagged without colours.
    """
    n_faces = len(mesh.faces)
    flagged = np.zeros(n_faces, bool)
    if colours is None or n_faces < 2:
        return flagged
    white = (colours.face_texture < 0) & (colours.corner_rgb >= 1.0).all(axis=(1, 2))
    if not white.any() or white.all():
        return flagged
    verts = np.asarray(mesh.vertices, np.float64)
    scale = max(float(np.linalg.norm(np.ptp(verts, axis=0))), 1e-12) * 1e-6
    _, pos_id = np.unique(np.round(verts / scale).astype(np.int64), axis=0, return_inverse=True)
    corners = pos_id.reshape(-1)[np.asarray(mesh.faces, np.int64)]  # (F, 3) position ids
    _, face_key, counts = np.unique(np.sort(corners, axis=1), axis=0, return_inverse=True, return_counts=True)
    face_key = face_key.reshape(-1)
    tri = verts[np.asarray(mesh.faces, np.int64)]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    # Exact pairs only: order faces by key and pair neighbours that share a key of count 2.
    order = np.argsort(face_key, kind="stable")
    k = face_key[order]
    first = np.flatnonzero((k[:-1] == k[1:]) & (counts[k[:-1]] == 2))
    a, b = order[first], order[first + 1]
    opposite = np.einsum("ij,ij->i", normal[a], normal[b]) < 0
    a, b = a[opposite], b[opposite]
    flagged[a[white[a] & ~white[b]]] = True
    flagged[b[white[b] & ~white[a]]] = True
    return flagged


def sample_mesh(
    mesh: trimesh.Trimesh, n_points: int = DEFAULT_MESH_POINTS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Sample ``n_points`` area-uniformly on ``mesh`` with colour, normal and source face.

    Faces flagged by :func:`white_backface_twins` (the default-white back side of a coloured
    double-sided face) are not sampled; their coloured twin is.

    Args:
        mesh: a ``trimesh.Trimesh`` with at least one face of positive area; its visual may be
            a texture (``TextureVisuals`` with UVs and a material image), vertex or face colours.
        n_points: number of points, >= 1.
        seed: seed of ``np.random.default_rng``; equal seeds give equal samples.

    Returns:
        xyz: (N, 3) float32 points in the mesh frame (float64 when float32 would round them by
            more than 1e-6 of the extent, e.g. far from the origin; centred later in float64).
        rgb: (N, 3) float32 colours in [0, 1], or None when the mesh has no colour (see the
            module docstring for the order of colour sources).
        normals: (N, 3) float32 unit face normals of the source faces (winding-oriented).
        face_index: (N,) int64 index of the face each point lies on.

    Raises:
        InputError: not a mesh, no faces, zero total area, or a bad ``n_points``.
    """
    mesh = check_mesh_arg(mesh, "sample_mesh")
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1:
        raise InputError(f"sample_mesh: n_points must be a positive integer, got {n_points!r}")
    faces = np.asarray(mesh.faces, dtype=np.int64)
    tri = np.asarray(mesh.vertices, dtype=np.float64)[faces]  # (F, 3, 3)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    colours = face_colours(mesh)
    skip = white_backface_twins(mesh, colours)
    if skip.any():
        log.debug("sample_mesh: skipping %d default-white back faces of double-sided faces", int(skip.sum()))
        area = np.where(skip, 0.0, area)
    cdf = np.cumsum(area)
    if not np.isfinite(cdf[-1]) or cdf[-1] <= 0.0:
        raise InputError(f"sample_mesh: the mesh's total surface area is {cdf[-1]}; expected > 0 (all faces are degenerate)")
    rng = np.random.default_rng(seed)
    face_index = np.minimum(np.searchsorted(cdf, rng.random(n_points) * cdf[-1], side="right"), len(faces) - 1)
    uv = rng.random((n_points, 2))
    flip = uv.sum(axis=1) > 1.0
    uv[flip] = 1.0 - uv[flip]
    bary = np.column_stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]])  # (N, 3) weights
    t = tri[face_index]
    xyz = coordinate_dtype(np.einsum("nk,nkd->nd", bary, t.astype(np.float64)))  # float64 only if needed
    fn = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    normals = (fn / np.linalg.norm(fn, axis=1, keepdims=True)).astype(np.float32)
    rgb = None
    if colours is not None:
        rgb = colours.sample(face_index, bary)
    return xyz, rgb, normals, face_index.astype(np.int64)


def mesh_to_shape(
    mesh: trimesh.Trimesh, n_points: int = DEFAULT_MESH_POINTS, seed: int = 0, *, name: str = "mesh",
    source: str | None = None,
) -> Shape:
    """A :class:`Shape` of ``n_points`` sampled on ``mesh`` (``mesh`` and ``face_index`` kept)."""
    xyz, rgb, normals, face_index = sample_mesh(mesh, n_points, seed)
    return make_shape(source or name, xyz=xyz, rgb=rgb, normals=normals, mesh=mesh, face_index=face_index, name=name)


def face_colours(mesh: trimesh.Trimesh) -> FaceColours | None:
    """The colour sources of ``mesh``: those :func:`load_mesh` stored, else built from ``mesh.visual``."""
    stored = mesh.metadata.get(METADATA_KEY) if isinstance(mesh.metadata, dict) else None
    if isinstance(stored, FaceColours):
        if stored.n_faces == len(mesh.faces):
            return stored
        log.warning("stored face colours cover %d faces but the mesh has %d; using mesh.visual",
                    stored.n_faces, len(mesh.faces))
    return FaceColours.from_meshes([mesh])


def write_glb(path: PathLike, mesh: trimesh.Trimesh, face_colors: np.ndarray) -> Path:
    """Write ``mesh`` as a binary glTF with one flat colour per face, atomically.

    Vertices are split per face (3 per face, face order kept) so that colours do not bleed
    across faces in viewers that interpolate vertex colours.

    Args:
        path: output ``.glb`` (parent folders are created).
        mesh: the mesh, in any frame.
        face_colors: (F, 3) or (F, 4) colours, uint8 0-255 or float in [0, 1].

    Returns:
        the path written.
    """
    mesh = check_mesh_arg(mesh, "write_glb")
    n_faces = len(mesh.faces)
    rgb = check_rgb_arg(face_colors, n_faces, "write_glb")
    verts = np.asarray(mesh.vertices, dtype=np.float64)[np.asarray(mesh.faces)].reshape(-1, 3)
    rgba = np.concatenate([np.repeat(rgb, 3, axis=0), np.full((3 * n_faces, 1), 255, np.uint8)], axis=1)
    flat = trimesh.Trimesh(
        vertices=verts,
        faces=np.arange(3 * n_faces, dtype=np.int64).reshape(n_faces, 3),
        vertex_colors=rgba,
        process=False,
    )
    data = flat.export(file_type="glb")
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    log.debug("wrote %d coloured faces to %s", n_faces, path)
    return path
