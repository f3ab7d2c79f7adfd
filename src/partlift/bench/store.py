"""Files of a benchmark folder: atomic writes and the per-shape result records.

Layout under the output folder::

    run.json                               settings and fingerprint of the run that owns the folder
    prepared/<method>/<Category>/...       per-category preparation (weights, students) + prepared.json
    shapes/<method>/<Category>/<id>.json   one record per (method, shape): status, IoU row, seconds
    shapes/<method>/<Category>/<id>.npz    predicted and ground-truth labels on the scored points

A record is committed by its ``.json``, written (atomically) after its ``.npz``: a run killed at
any moment leaves either a complete record or none, and a resumed run redoes only the missing
ones. A record whose fingerprint differs from the current one (other settings, retrained
weights) is redone.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from partlift.errors import InputError

__all__ = [
    "RECORD_VERSION",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_save_figure",
    "read_json",
    "record_paths",
    "write_record",
    "read_record",
    "read_arrays",
]

logger = logging.getLogger(__name__)

RECORD_VERSION = 1
"""Version of the per-shape record layout (bump when fields change meaning)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@contextmanager
def _replacing(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file next to ``path``; on success it replaces ``path``, else it is removed.

    ``suffix`` ends the temporary name (a figure keeps its format suffix so that the writer
    recognises the format).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    with _replacing(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (NaN/inf refused) atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=1, allow_nan=False) + "\n")


def atomic_save_figure(path: str | Path, fig: Any) -> Path:
    """Save a matplotlib figure to ``path`` through a temporary file (same format suffix) and a rename."""
    path = Path(path)
    with _replacing(path, suffix=path.suffix or ".tmp") as tmp:
        fig.savefig(tmp)
    return path


def read_json(path: str | Path) -> Any | None:
    """The decoded JSON of ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _safe(name: str) -> str:
    out = _UNSAFE.sub("_", name)
    if not out or out in (".", ".."):
        raise InputError(f"cannot make a file name of {name!r}")
    return out


def record_paths(out: str | Path, method: str, shape_id: str) -> tuple[Path, Path]:
    """(json, npz) paths of the record of ``method`` on ``shape_id`` (``"<Category>/<id>"``)."""
    cat, _, sid = shape_id.partition("/")
    base = Path(out) / "shapes" / _safe(method) / _safe(cat) / _safe(sid or cat)
    return base.with_suffix(".json"), base.with_suffix(".npz")


def write_record(out: str | Path, record: dict[str, Any], arrays: dict[str, np.ndarray] | None) -> Path:
    """Write one per-shape record (``record["method"]``, ``record["shape"]``) and its arrays."""
    js, npz = record_paths(out, record["method"], record["shape"])
    if arrays:
        with _replacing(npz) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return atomic_write_json(js, dict(record, version=RECORD_VERSION, has_arrays=bool(arrays)))


def read_record(out: str | Path, method: str, shape_id: str, fingerprint: str | None = None) -> dict[str, Any] | None:
    """The committed record, or None when missing, unreadable, of another version or fingerprint."""
    js, npz = record_paths(out, method, shape_id)
    rec = read_json(js)
    if not isinstance(rec, dict) or rec.get("version") != RECORD_VERSION:
        return None
    if fingerprint is not None and rec.get("fingerprint") != fingerprint:
        return None
    if rec.get("has_arrays") and not npz.is_file():
        return None
    return rec


def read_arrays(out: str | Path, method: str, shape_id: str) -> dict[str, np.ndarray] | None:
    """The label arrays of a record (None when it has none or they cannot be read)."""
    _, npz = record_paths(out, method, shape_id)
    try:
        with np.load(npz, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        logger.warning("cannot read %s: %s", npz, exc)
        return None
