"""Write generated shapes in the PartNet-E layout (METHODS §1.5.1).

``<out>/<Category>/<id>/`` gets ``pc.ply`` (binary little-endian, float x y z + uchar red green
blue, like the real data), ``label.npy`` (dict ``semantic_seg`` / ``instance_seg``, int32),
``mesh.glb`` (the textured mesh; face ``f`` of ``trimesh.load(mesh.glb, force="mesh")`` is face
``f`` of the generated mesh), ``face_labels.npy`` (the same dict per face) and ``info.json``
(part and instance table). ``<out>/PartNetE_meta.json`` is a copy of the packaged table, so the
folder reads back with :class:`partlift.data.partnete.PartNetEDataset` like a real root. Every
file is written atomically and byte-identically for identical shapes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import numpy as np
import trimesh

from partlift.data.meta import META_FILENAME
from partlift.data.meta import part_names as meta_part_names
from partlift.errors import InputError
from partlift.io import atomic_write, save_face_labels, save_labels, write_ply
from partlift.types import Shape

__all__ = ["export_partnete", "export_shape", "shape_folder_id", "write_meta"]

log = logging.getLogger(__name__)


def shape_folder_id(shape: Shape) -> str:
    """The ``<id>`` folder name of a shape named ``"<Category>/<id>"`` (or its whole name)."""
    sid = shape.name.rsplit("/", 1)[-1]
    if not sid or sid in (".", "..") or any(c in sid for c in "\\:*?\"<>|") or sid != sid.strip():
        raise InputError(f"export_partnete: shape name {shape.name!r} does not give a usable folder id; "
                         "name shapes '<Category>/<id>' with a plain id")
    return sid


def _check_shape(shape: Shape) -> tuple[str, tuple[str, ...]]:
    if not isinstance(shape, Shape):
        raise InputError(f"export_partnete: expected partlift Shape objects, got {type(shape).__name__}")
    if shape.category is None or shape.semantic is None or shape.instance is None or shape.part_names is None:
        raise InputError(
            f"export_partnete: shape {shape.name!r} needs category, part_names, semantic and instance "
            "labels to be written as PartNet-E; generate it with partlift.data.synthetic.generate"
        )
    names = meta_part_names(shape.category)
    if tuple(shape.part_names) != names:
        raise InputError(
            f"export_partnete: shape {shape.name!r} has part names {list(shape.part_names)} but PartNet-E's "
            f"{shape.category} uses {list(names)} (label ids follow that order); relabel it first"
        )
    return shape.category, names


def _info(shape: Shape, names: tuple[str, ...], sid: str) -> dict:
    sem, ins = shape.semantic, shape.instance
    per_part = {n: int((sem == k).sum()) for k, n in enumerate(names)}
    instances = []
    for i in np.unique(ins[ins >= 0]).tolist():
        m = ins == i
        k = int(np.bincount(sem[m][sem[m] >= 0]).argmax())
        row = {"instance": int(i), "part": names[k], "semantic": k, "n_points": int(m.sum())}
        if shape.face_instance is not None:
            row["n_faces"] = int((shape.face_instance == i).sum())
        instances.append(row)
    return {
        "shape_id": f"{shape.category}/{sid}",
        "category": shape.category,
        "part_names": list(names),
        "source": "partlift.data.synthetic (procedural)",
        "n_points": shape.n_points,
        "n_faces": None if shape.mesh is None else len(shape.mesh.faces),
        "points_per_part": per_part,
        "points_unlabeled": int((sem < 0).sum()),
        "instances": instances,
    }


def export_shape(shape: Shape, out_dir: str | os.PathLike, *, with_mesh: bool = True) -> Path:
    """Write one labelled shape to ``<out_dir>/<Category>/<id>/``; the shape folder.

    Args:
        shape: a labelled Shape whose ``part_names`` are PartNet-E's for its ``category`` and
            whose name is ``"<Category>/<id>"``; with a ``mesh`` and per-face labels, the mesh
            files are written too (unless ``with_mesh`` is False).
        out_dir: dataset root.

    Raises:
        InputError: missing labels or category, part names that are not PartNet-E's, a bad name.
    """
    category, names = _check_shape(shape)
    sid = shape_folder_id(shape)
    folder = Path(out_dir) / category / sid
    write_ply(folder / "pc.ply", shape.xyz, shape.rgb)
    save_labels(folder / "label.npy", shape.semantic, shape.instance)
    if with_mesh and shape.mesh is not None and shape.face_semantic is not None:
        data = trimesh.exchange.gltf.export_glb(shape.mesh)
        with atomic_write(folder / "mesh.glb", "wb") as fh:
            fh.write(data)
        save_face_labels(folder / "face_labels.npy", shape.face_semantic, shape.face_instance)
    text = json.dumps(_info(shape, names, sid), indent=1, sort_keys=True) + "\n"
    with atomic_write(folder / "info.json", "wb") as fh:
        fh.write(text.encode("utf-8"))
    return folder


def write_meta(out_dir: str | os.PathLike) -> Path:
    """Copy the packaged ``PartNetE_meta.json`` to ``out_dir`` (byte for byte); its path."""
    data = resources.files("partlift.data").joinpath(META_FILENAME).read_bytes()
    path = Path(out_dir) / META_FILENAME
    if not (path.is_file() and path.read_bytes() == data):
        with atomic_write(path, "wb") as fh:
            fh.write(data)
    return path


def export_partnete(
    shapes: Iterable[Shape], out_dir: str | os.PathLike, *, with_mesh: bool = True
) -> list[Path]:
    """Write shapes to ``out_dir`` in the PartNet-E layout (see the module docstring).

    Returns:
        the shape folders written, in input order.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"export_partnete: {out} exists and is not a folder; choose a folder for --out")
    folders = []
    for shape in shapes:
        folders.append(export_shape(shape, out, with_mesh=with_mesh))
        log.debug("wrote %s", folders[-1])
    write_meta(out)
    return folders
