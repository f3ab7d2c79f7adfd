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
import re
from pathlib import Path
from typing import Any

import numpy as np

from partlift import atomic
from partlift.atomic import save_figure as atomic_save_figure
from partlift.atomic import write_bytes as atomic_write_bytes
from partlift.atomic import write_text as atomic_write_text
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
    "skip_lines",
]

logger = logging.getLogger(__name__)

RECORD_VERSION = 1
"""Version of the per-shape record layout (bump when fields change meaning)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (NaN/inf refused) atomically."""
    return atomic.write_json(path, obj, allow_nan=False)


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
        with atomic.replacing(npz) as tmp, open(tmp, "wb") as f:
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
    if rec.get("has_arrays") and not _readable_npz(npz):
        return None
    return rec


def _readable_npz(path: Path) -> bool:
    """True when ``path`` is an ``.npz`` whose zip directory reads (cheap: no array is loaded).

    A truncated or corrupt file (a disk filled up, a copy cut short) is warned about and its
    record treated as missing, so the shape is recomputed instead of failing every rerun.
    """
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            z.files  # noqa: B018 - reading the zip directory is the check
    except Exception as exc:  # zipfile.BadZipFile, EOFError, OSError, ValueError: all "unreadable"
        logger.warning("%s is unreadable (%s); recomputing that shape", path, type(exc).__name__)
        return False
    return True


def read_arrays(out: str | Path, method: str, shape_id: str) -> dict[str, np.ndarray] | None:
    """The label arrays of a record (None when it has none or they cannot be read)."""
    _, npz = record_paths(out, method, shape_id)
    try:
        with np.load(npz, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile.BadZipFile, EOFError, OSError, ValueError
        logger.warning("cannot read %s: %s: %s", npz, type(exc).__name__, exc)
        return None


def skip_lines(out: str | Path) -> list[str]:
    """One line per (method, category) the run skipped, with the reason, from ``details.json``
    (printed after the progress bar, where a logged warning would be lost)."""
    details = read_json(Path(out) / "details.json")
    if not isinstance(details, dict):
        return []
    lines = []
    for method, info in sorted((details.get("methods") or {}).items()):
        for cat, reason in sorted(((info or {}).get("skipped") or {}).items()):
            lines.append(f"skipped {method} on {cat}: {reason}")
    return lines
