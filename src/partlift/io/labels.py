"""Label files: per-point and per-face semantic / instance labels.

Formats read by :func:`load_labels`:

* ``.npy`` holding a PartNet-E dict (``np.load(..., allow_pickle=True).item()`` with keys
  ``semantic_seg`` and optionally ``instance_seg``) — note that a pickled dict executes code on
  load, so read such files only from sources you trust;
* ``.npy`` holding an (N,) integer array (semantic) or an (N, 2) array (semantic, instance);
* ``.txt`` / ``.label`` / ``.seg``: one integer per line (semantic) or two columns (semantic
  instance), white space or commas.

Written files are PartNet-E-style dict ``.npy`` files (int32 arrays, -1 = none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from partlift.errors import ShapeFileError
from partlift.io._common import PathLike, atomic_write, check_file, coerce_labels, describe
from partlift.io._validate import check_labels_arg

LABEL_EXTENSIONS = (".npy", ".txt", ".label", ".seg")


def load_labels(path: PathLike, n_points: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read per-point (or per-face) labels.

    Args:
        path: a label file (formats in the module docstring).
        n_points: the expected length (points of the cloud, or faces of the mesh); None skips the check.

    Returns:
        semantic: (N,) int64, -1 = no named part.
        instance: (N,) int64, -1 = no instance, or None when the file has none.

    Raises:
        ShapeFileError: missing / unreadable file, wrong layout, non-integers, labels < -1, or a
            length different from ``n_points``.
    """
    path = check_file(path)
    src = str(path)
    ext = path.suffix.lower()
    if ext == ".npy":
        sem, ins = _read_npy_labels(path)
    elif ext in LABEL_EXTENSIONS:
        sem, ins = _read_text_labels(path)
    else:
        raise ShapeFileError(
            f"{path}: unknown label file extension {ext!r}; expected one of {list(LABEL_EXTENSIONS)}"
        )
    semantic = coerce_labels(sem, n_points, "semantic", src)
    instance = None if ins is None else coerce_labels(ins, len(semantic), "instance", src)
    return semantic, instance


def _read_npy_labels(path: Path) -> tuple[Any, Any]:
    try:
        obj = np.load(path, allow_pickle=True)
    except Exception as exc:  # np.load of a pickle can raise anything the pickle does
        raise ShapeFileError(f"{path}: cannot read as .npy ({describe(exc)})") from exc
    if obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if isinstance(obj, dict):
        if "semantic_seg" not in obj:
            raise ShapeFileError(
                f"{path}: label dict lacks 'semantic_seg'; expected PartNet-E keys "
                f"'semantic_seg' and 'instance_seg', found {sorted(map(str, obj))}"
            )
        return obj["semantic_seg"], obj.get("instance_seg")
    if isinstance(obj, np.ndarray) and obj.ndim == 1:
        return obj, None
    if isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.shape[1] == 2:
        return obj[:, 0], obj[:, 1]
    raise ShapeFileError(
        f"{path}: expected a PartNet-E label dict, an (N,) or an (N, 2) integer array, got "
        f"{type(obj).__name__} {getattr(obj, 'shape', '')}"
    )


def _read_text_labels(path: Path) -> tuple[Any, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShapeFileError(f"{path}: cannot read as text ({describe(exc)})") from exc
    rows = [line.split("#", 1)[0].replace(",", " ").split() for line in text.splitlines()]
    rows = [r for r in rows if r]
    widths = {len(r) for r in rows}
    if len(widths) > 1 or (widths and widths.pop() not in (1, 2)):
        raise ShapeFileError(f"{path}: expected 1 (semantic) or 2 (semantic instance) columns per line")
    try:
        arr = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    except ValueError as exc:
        raise ShapeFileError(f"{path}: non-numeric label ({describe(exc)})") from exc
    return arr[:, 0], (arr[:, 1] if arr.shape[1] == 2 else None)


def save_labels(path: PathLike, semantic: np.ndarray, instance: np.ndarray | None = None) -> Path:
    """Write per-point labels as a PartNet-E ``label.npy`` dict, atomically.

    Args:
        path: output file (parent folders created).
        semantic: (N,) int labels, -1 = none.
        instance: (N,) int instance ids, -1 = none, or None (the key is then omitted).

    Returns:
        the path written. Read back with :func:`load_labels` or
        ``np.load(path, allow_pickle=True).item()``.
    """
    return _save_dict(path, semantic, instance, "save_labels")


def save_face_labels(path: PathLike, face_semantic: np.ndarray, face_instance: np.ndarray | None = None) -> Path:
    """Write per-face labels as a ``face_labels.npy`` dict (``semantic_seg``, ``instance_seg``), atomically."""
    return _save_dict(path, face_semantic, face_instance, "save_face_labels")


def _save_dict(path: PathLike, semantic: Any, instance: Any, where: str) -> Path:
    sem = check_labels_arg(semantic, None, "semantic", where)
    payload = {"semantic_seg": sem.astype(np.int32)}
    if instance is not None:
        payload["instance_seg"] = check_labels_arg(instance, len(sem), "instance", where).astype(np.int32)
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        np.save(fh, np.array(payload, dtype=object), allow_pickle=True)
    return path
