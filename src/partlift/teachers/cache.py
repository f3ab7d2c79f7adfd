"""On-disk cache of teacher predictions, keyed by a content hash of their inputs (DESIGN §2).

The key of an entry is the SHA-256 of: the shape's content (xyz and rgb bytes), the render
settings, the teacher name with its options, and the part names (:func:`prediction_key`). An entry
is one ``.npz`` written atomically (temporary file + ``os.replace``) that carries a checksum of its
own arrays. A missing, truncated or corrupted entry (unreadable file, checksum mismatch, wrong
key) is never trusted: it is logged, recomputed and overwritten. A cache that cannot be used at
all (its root unwritable or not a folder, an entry path taken by a folder) is warned about once
per :class:`PredictionCache` and the run goes on without it.

Default root: ``$PARTLIFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/partlift``, else
``~/.cache/partlift``; predictions live under ``<root>/predictions/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from partlift.config import json_ready
from partlift.errors import InputError
from partlift.keys import content_key
from partlift.types import Predictions, Shape

__all__ = [
    "PredictionCache",
    "default_cache_root",
    "shape_content_hash",
    "prediction_key",
    "key_of",
    "predictions_to_arrays",
    "predictions_from_arrays",
]

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Version of the entry layout; part of every key, so a layout change invalidates old entries."""

_FILE_MODE = 0o644
"""Permissions of a cache entry (``mkstemp`` creates files readable by the owner only)."""


def default_cache_root() -> Path:
    """``$PARTLIFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/partlift``, else ``~/.cache/partlift``."""
    env = os.environ.get("PARTLIFT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "partlift"


def shape_content_hash(shape: Shape, *, with_labels: bool = False) -> str:
    """Hex SHA-256 of a shape's point content: xyz and rgb (float32 bytes), and with
    ``with_labels`` also its semantic / instance labels and part names (for teachers that read
    ground truth, whose output changes with the labels and may change with the name)."""
    h = hashlib.sha256()
    xyz = np.ascontiguousarray(shape.xyz, dtype=np.float32)
    h.update(repr(xyz.shape).encode())
    h.update(xyz.tobytes())
    if shape.rgb is not None:
        h.update(b"rgb")
        h.update(np.ascontiguousarray(shape.rgb, dtype=np.float32).tobytes())
    if with_labels:
        for name in ("semantic", "instance"):
            arr = getattr(shape, name)
            h.update(name.encode())
            if arr is not None:
                h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
        h.update(repr(shape.part_names).encode())
        # A teacher that reads ground truth may seed its noise by the shape's name (the simulated one).
        h.update(b"name")
        h.update(str(shape.name).encode())
    return h.hexdigest()


def prediction_key(
    shape: Shape | str,
    render: Mapping[str, Any],
    teacher: str,
    part_names: tuple[str, ...] | list[str],
    extra: Mapping[str, Any] | None = None,
    *,
    with_labels: bool = False,
) -> str:
    """Hex SHA-256 cache key of one teacher run on one shape.

    Args:
        shape: the (normalised) shape, or its :func:`shape_content_hash`.
        render: the render settings as a JSON-ready dict (e.g. ``config.to_dict(render_config)``).
        teacher: the teacher name with every option that changes its output (``Teacher.name``).
        part_names: the prompt's part names, in order.
        extra: anything else that changes the output (JSON-ready).
        with_labels: hash the shape's labels too (set it for teachers that need ground truth,
            ``Teacher.needs_ground_truth``).
    """
    content = shape if isinstance(shape, str) else shape_content_hash(shape, with_labels=with_labels)
    return key_of(
        {
            "shape": content,
            "render": dict(render),
            "teacher": str(teacher),
            "parts": [str(p) for p in part_names],
            "extra": dict(extra or {}),
        }
    )


def key_of(parts: Mapping[str, Any]) -> str:
    """Hex SHA-256 of a JSON-ready mapping of key parts (sorted keys, format version included)."""
    if not isinstance(parts, Mapping):
        raise InputError(f"cache key: expected a mapping of key parts, got {type(parts).__name__}")
    payload = {"format": CACHE_FORMAT, **json_ready(dict(parts))}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return content_key(blob)


def predictions_to_arrays(preds: Predictions) -> dict[str, np.ndarray]:
    """The arrays of ``preds`` plus a JSON header, for an ``.npz`` (masks bit-packed)."""
    arrays = {
        "view": preds.view,
        "label": preds.label,
        "score": preds.score,
        "boxes": preds.boxes,
        "features": preds.features,
    }
    if preds.masks is not None:
        arrays["masks"] = np.packbits(preds.masks, axis=-1)
    header = {
        "part_names": list(preds.part_names),
        "image_size": list(preds.image_size),
        "teacher": preds.teacher,
        "meta": json_ready(preds.meta),
        "has_masks": preds.masks is not None,
    }
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return arrays


def predictions_from_arrays(arrays: Mapping[str, np.ndarray]) -> Predictions:
    """Inverse of :func:`predictions_to_arrays`."""
    header = json.loads(bytes(arrays["header"]).decode())
    h, w = header["image_size"]
    masks = None
    if header["has_masks"]:
        masks = np.unpackbits(arrays["masks"], axis=-1, count=w).astype(bool)
    return Predictions(
        view=arrays["view"],
        label=arrays["label"],
        score=arrays["score"],
        boxes=arrays["boxes"],
        features=arrays["features"],
        part_names=tuple(header["part_names"]),
        image_size=(int(h), int(w)),
        masks=masks,
        teacher=header["teacher"],
        meta=header["meta"],
    )


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


class PredictionCache:
    """A directory of cached :class:`~partlift.types.Predictions`, one ``.npz`` per key.

    Args:
        root: cache root (default :func:`default_cache_root`); entries go to ``root/predictions``.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_root()
        self.dir = self.root / "predictions"
        self.disabled: str | None = None  # why the cache is off for this object, once it failed

    def _disable(self, what: str, exc: OSError) -> None:
        if self.disabled is None:
            reason = exc.strerror or type(exc).__name__
            self.disabled = f"{what}: {reason}"
            logger.warning("prediction cache %s unusable (%s: %s); running without the cache — set "
                           "PARTLIFT_CACHE_DIR to a writable folder to use one", self.root, what, reason)

    def __repr__(self) -> str:
        return f"PredictionCache({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The entry file of ``key`` (a hex digest)."""
        if not isinstance(key, str) or not key or not all(c in "0123456789abcdef" for c in key):
            raise InputError(f"PredictionCache: expected a hex digest key, got {key!r}")
        return self.dir / key[:2] / f"{key}.npz"

    def load(self, key: str) -> Predictions | None:
        """The cached predictions of ``key``, or None when absent or not trustworthy."""
        path = self.path(key)
        if self.disabled is not None:
            return None
        if path.is_dir():
            self._disable(f"entry {path.name} is a folder", IsADirectoryError(21, "Is a directory"))
            return None
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            stored_sum = bytes(arrays.pop("checksum")).decode()
            stored_key = bytes(arrays.pop("key")).decode()
            if stored_key != key:
                raise ValueError(f"entry holds key {stored_key[:12]}..")
            if stored_sum != _checksum(arrays):
                raise ValueError("checksum mismatch")
            return predictions_from_arrays(arrays)
        except Exception as exc:  # any failure to read or decode means: do not trust it
            logger.warning("prediction cache entry %s is corrupt (%r); recomputing it", path, exc)
            return None

    def save(self, key: str, preds: Predictions) -> Path:
        """Write ``preds`` under ``key`` atomically; returns the entry path."""
        if not isinstance(preds, Predictions):
            raise InputError(f"PredictionCache.save: expected Predictions, got {type(preds).__name__}")
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = predictions_to_arrays(preds)
        arrays["checksum"] = np.frombuffer(_checksum(arrays).encode(), dtype=np.uint8)
        arrays["key"] = np.frombuffer(key.encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:8]}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(buf.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def get_or_compute(
        self, key: str | Mapping[str, Any], fn: Callable[[], Predictions]
    ) -> Predictions:
        """The cached predictions of ``key``, else ``fn()`` (then stored under ``key``).

        ``key`` is a hex digest (e.g. from :func:`prediction_key`) or a JSON-ready mapping of
        key parts, hashed with :func:`key_of`.
        """
        if not isinstance(key, str):
            key = key_of(key)
        hit = self.load(key)
        if hit is not None:
            logger.debug("prediction cache hit %s", key[:12])
            return hit
        preds = fn()
        if self.disabled is None:
            try:
                self.save(key, preds)
            except OSError as exc:
                self._disable("cannot write an entry", exc)
        return preds
