"""Write a segmentation result (:class:`~partlift.part_labels.PartLabels`) to the files a user expects.

Layout of ``out_dir`` (DESIGN §1 "Outputs a user expects"):

* ``semantic.npy`` — (N,) int64 part index per input point, -1 = unlabelled.
* ``instance.npy`` — (N,) int64 instance id per input point, -1 = none.
* ``<name>.ply`` — the points coloured by part (binary PLY with ``semantic``/``instance``
  properties), when the labels carry their points.
* ``parts/<part>.ply`` — one PLY per part that has points, in its original colours.
* ``face_labels.npy`` (F,) int64 part index per mesh face (-1 = unlabelled), ``face_instances.npy``
  (F,) int64 instance id per face, and ``<name>.glb`` — the mesh coloured by part — when the
  input was a mesh. Plain arrays: ``np.load`` reads them without ``allow_pickle`` (the PartNet-E
  dataset's own ``face_labels.npy`` is a pickled dict; :func:`partlift.io.load_labels` reads both).

Every file is written atomically by :mod:`partlift.io`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from partlift import atomic
from partlift import io as pio
from partlift.errors import InputError
from partlift.palette import label_colors, part_palette


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic.replacing(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr)


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "part"


def save_labels(labels: Any, out_dir: str | os.PathLike, *, name: str = "labels") -> dict[str, str]:
    """Write ``labels`` into ``out_dir`` (created if needed); returns kind -> path written.

    ``labels`` is a :class:`~partlift.part_labels.PartLabels` (checked by name: that module sits
    above this one, since the container saves itself through :func:`save_labels`).
    """
    if type(labels).__name__ != "PartLabels" or not hasattr(labels, "semantic"):
        raise InputError(f"save_labels: expected PartLabels, got {type(labels).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    _atomic_save_npy(out / "semantic.npy", labels.semantic.astype(np.int64))
    _atomic_save_npy(out / "instance.npy", labels.instance.astype(np.int64))
    written["semantic"] = str(out / "semantic.npy")
    written["instance"] = str(out / "instance.npy")
    n_parts = len(labels.part_names)
    if labels.xyz is not None:
        colors = label_colors(labels.semantic, n_parts)
        ply = out / f"{_safe_filename(name)}.ply"
        pio.write_ply(ply, labels.xyz, rgb=colors, semantic=labels.semantic, instance=labels.instance)
        written["ply"] = str(ply)
        parts_dir = out / "parts"
        parts_dir.mkdir(exist_ok=True)
        for c, part in enumerate(labels.part_names):
            sel = labels.semantic == c
            if not sel.any():
                continue
            rgb = labels.rgb[sel] if labels.rgb is not None else None
            path = parts_dir / f"{_safe_filename(part)}.ply"
            pio.write_ply(path, labels.xyz[sel], rgb=rgb, instance=labels.instance[sel])
            written[f"part:{part}"] = str(path)
    if labels.mesh is not None and labels.face_semantic is not None:
        face_path = out / "face_labels.npy"
        _atomic_save_npy(face_path, labels.face_semantic.astype(np.int64))
        written["face_labels"] = str(face_path)
        if labels.face_instance is not None:
            face_ins = out / "face_instances.npy"
            _atomic_save_npy(face_ins, labels.face_instance.astype(np.int64))
            written["face_instances"] = str(face_ins)
        pal = np.vstack([part_palette(n_parts), [[170, 170, 170]]]).astype(np.uint8)
        face_rgb = pal[np.where(labels.face_semantic < 0, n_parts, labels.face_semantic)]
        glb = out / f"{_safe_filename(name)}.glb"
        pio.write_glb(glb, labels.mesh, face_rgb)
        written["glb"] = str(glb)
    return written
