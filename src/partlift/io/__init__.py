"""Reading and writing shapes, labels and meshes.

Readers (all return :class:`~partlift.types.Shape` in the file's own frame):

* :func:`load_shape` — any supported file or a PartNet-E shape folder (dispatch by extension);
* :func:`load_partnete_dir` — ``<root>/<Category>/<id>/`` with ``pc.ply`` and ``label.npy``;
* :func:`load_mesh` / :func:`sample_mesh` — meshes through trimesh, area-uniform coloured samples;
* :func:`load_labels` — per-point or per-face label files.

Writers (atomic: a temporary file in the same folder, then a rename): :func:`write_ply`,
:func:`save_labels`, :func:`save_face_labels`, :func:`write_glb`, and the :func:`atomic_write`
context manager they share.

Colours are float32 in [0, 1] once loaded; how each format's colours are scaled is documented
in :mod:`partlift.io._common` (integers by their type's range; typed floats must be in [0, 1];
untyped text / ``.npy`` columns are 0-255 when their maximum exceeds 1).
"""

from __future__ import annotations

from partlift.io._common import atomic_write
from partlift.io.labels import load_labels, save_face_labels, save_labels
from partlift.io.mesh import DEFAULT_MESH_POINTS, load_mesh, mesh_to_shape, sample_mesh, write_glb
from partlift.io.partnete_dir import is_partnete_dir, load_partnete_dir
from partlift.io.ply import write_ply
from partlift.io.shape import SUPPORTED_EXTENSIONS, load_shape

__all__ = [
    "DEFAULT_MESH_POINTS",
    "SUPPORTED_EXTENSIONS",
    "atomic_write",
    "is_partnete_dir",
    "load_labels",
    "load_mesh",
    "load_partnete_dir",
    "load_shape",
    "mesh_to_shape",
    "sample_mesh",
    "save_face_labels",
    "save_labels",
    "write_glb",
    "write_ply",
]
