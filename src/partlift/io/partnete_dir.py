"""One shape folder in the PartNet-E layout (METHODS §1.5.1).

``<root>/<Category>/<id>/`` holds ``pc.ply`` (the coloured cloud), optionally ``label.npy``
(PartNet-E dict ``semantic_seg`` / ``instance_seg``), ``mesh.glb`` and ``face_labels.npy`` (the
same dict per face of ``trimesh.load(mesh.glb, force="mesh")``) and ``info.json``.

The category and part names come from the folder's own ``info.json`` first (keys ``category``
and ``part_names``, as the real-data exports and ``partlift synth`` write them), so a shape folder
copied out of its dataset keeps its labels' meaning. Without them the category is the parent
folder's name, and its part names come from ``<root>/PartNetE_meta.json`` when that file exists,
else from the packaged table (:mod:`partlift.data.meta`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from partlift.categories import META_FILENAME, read_meta_file
from partlift.categories import part_names as meta_part_names
from partlift.errors import InputError, ShapeFileError
from partlift.io._common import PathLike, make_shape
from partlift.io.labels import load_labels
from partlift.io.mesh import load_mesh
from partlift.io.ply import read_ply_cloud
from partlift.types import Shape

log = logging.getLogger(__name__)

PC_FILE = "pc.ply"
LABEL_FILE = "label.npy"
MESH_FILE = "mesh.glb"
FACE_LABEL_FILE = "face_labels.npy"
INFO_FILE = "info.json"


def read_folder_info(shape_dir: Path) -> tuple[str | None, tuple[str, ...] | None]:
    """``(category, part_names)`` from ``shape_dir/info.json``; None for what it lacks.

    A missing file gives ``(None, None)``; an unreadable one, or fields of the wrong type, a
    warning and None for those fields (the folder still loads, as it did without info.json).
    """
    path = shape_dir / INFO_FILE
    if not path.is_file():
        return None, None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: unreadable (%s); using the folder layout for category and part names", path,
                    type(exc).__name__)
        return None, None
    if not isinstance(info, dict):
        log.warning("%s: expected a JSON object, got %s; ignored", path, type(info).__name__)
        return None, None
    category = info.get("category")
    if category is not None and not (isinstance(category, str) and category.strip()):
        log.warning("%s: 'category' should be a non-empty string, got %r; ignored", path, category)
        category = None
    names = info.get("part_names")
    if names is not None:
        if (isinstance(names, list) and names and all(isinstance(n, str) and n.strip() for n in names)
                and len(set(names)) == len(names)):
            names = tuple(names)
        else:
            log.warning("%s: 'part_names' should be a list of distinct non-empty strings; ignored", path)
            names = None
    return category, names


def is_partnete_dir(path: PathLike) -> bool:
    """True iff ``path`` is a folder holding a ``pc.ply``."""
    p = Path(path)
    return p.is_dir() and (p / PC_FILE).is_file()


def _part_names(shape_dir: Path, category: str, meta: Mapping[str, Iterable[str]] | None) -> tuple[str, ...] | None:
    if meta is None:
        root_meta = shape_dir.parent.parent / META_FILENAME
        meta = read_meta_file(root_meta) if root_meta.is_file() else None
    try:
        return meta_part_names(category, meta)
    except InputError:
        log.warning("%s: category %r is not in the PartNet-E table; part names unknown", shape_dir, category)
        return None


def load_partnete_dir(
    path: PathLike,
    *,
    with_mesh: bool = False,
    with_labels: bool = True,
    meta: Mapping[str, Iterable[str]] | None = None,
) -> Shape:
    """Load a PartNet-E shape folder ``<root>/<Category>/<id>/``.

    Args:
        path: the shape folder (must hold ``pc.ply``).
        with_mesh: also load ``mesh.glb`` (required then) and, when present, ``face_labels.npy``.
        with_labels: read ``label.npy`` / ``face_labels.npy`` when present.
        meta: a ``{category: part names}`` table to use instead of the dataset root's / packaged one.

    Returns:
        Shape with ``xyz`` (N, 3) float32 (float64 where float32 would round it, far from the origin) in the object's own
        frame (not normalised), ``rgb``, ``semantic`` / ``instance`` (N,) int64 (None without
        ``label.npy``), ``part_names`` (``info.json``'s, else the category's from the table; None
        if unknown), ``category`` (``info.json``'s, else the parent folder's name),
        ``name`` = ``"<Category>/<id>"``; with ``with_mesh``: ``mesh`` (same frame) and
        ``face_semantic`` / ``face_instance``. ``face_index`` is None: ``pc.ply`` is not sampled
        by partlift.

    Raises:
        ShapeFileError: no ``pc.ply``, unreadable files, labels whose length differs from the
            cloud's (or the mesh's face count), ``with_mesh`` without ``mesh.glb``.
    """
    shape_dir = Path(path)
    if not shape_dir.is_dir():
        raise ShapeFileError(f"{shape_dir}: no such folder; expected a PartNet-E shape folder <root>/<Category>/<id>/")
    pc_path = shape_dir / PC_FILE
    if not pc_path.is_file():
        raise ShapeFileError(
            f"{shape_dir}: no {PC_FILE}; a PartNet-E shape folder holds pc.ply "
            "(+ label.npy, mesh.glb, face_labels.npy)"
        )
    cloud = read_ply_cloud(pc_path, with_labels=False)
    info_category, info_names = read_folder_info(shape_dir)
    category = info_category or shape_dir.parent.name or None
    if info_names is not None and meta is None:
        names = info_names
    else:
        names = _part_names(shape_dir, category, meta) if category else None
    fields: dict = {}
    label_path = shape_dir / LABEL_FILE
    if with_labels and label_path.is_file():
        fields["semantic"], fields["instance"] = load_labels(label_path, cloud.n_points)
    if with_mesh:
        mesh_path = shape_dir / MESH_FILE
        if not mesh_path.is_file():
            raise ShapeFileError(f"{shape_dir}: with_mesh=True but there is no {MESH_FILE} in the folder")
        mesh = load_mesh(mesh_path)
        fields["mesh"] = mesh
        face_path = shape_dir / FACE_LABEL_FILE
        if with_labels and face_path.is_file():
            fields["face_semantic"], fields["face_instance"] = load_labels(face_path, len(mesh.faces))
    return make_shape(
        str(shape_dir),
        xyz=cloud.xyz,
        rgb=cloud.rgb,
        normals=cloud.normals,
        part_names=names,
        category=category,
        name=f"{category}/{shape_dir.name}" if category else shape_dir.name,
        **fields,
    )
