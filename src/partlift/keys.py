"""Content keys: the one helper behind every cache key, fingerprint and digest.

* :func:`content_key` — hex SHA-256 of bytes, a string, or a JSON-ready object (``json.dumps``
  with sorted keys, ``default=str``), optionally cut to its first ``length`` hex digits;
* :func:`shape_key` — of a shape's points and colours;
* :func:`file_digest` — of a file's bytes;
* :func:`seed_of` — a 64-bit integer seed derived from a text (a shape id, a name).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np

from partlift.errors import InputError

__all__ = ["content_key", "shape_key", "file_digest", "seed_of"]


def content_key(obj: Any, *, length: int | None = None) -> str:
    """Hex SHA-256 of ``obj``: bytes as given, a str as UTF-8, anything else as sorted-key JSON.

    Args:
        obj: bytes, str, or a JSON-ready object (unknown types are written with ``str``).
        length: keep only the first ``length`` hex digits (None = all 64).
    """
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
    elif isinstance(obj, str):
        data = obj.encode()
    else:
        data = json.dumps(obj, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(data).hexdigest()
    if length is None:
        return digest
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 64:
        raise InputError(f"content_key: length must be an integer in [1, 64], got {length!r}")
    return digest[:length]


def shape_key(shape: Any) -> str:
    """Hex SHA-256 of a shape's points and colours (float32 bytes)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(shape.xyz, dtype=np.float32).tobytes())
    if shape.rgb is not None:
        h.update(np.ascontiguousarray(shape.rgb, dtype=np.float32).tobytes())
    return h.hexdigest()


def file_digest(path: str | os.PathLike[str], length: int = 16) -> str:
    """Hex SHA-256 (first ``length`` digits) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


def seed_of(text: str) -> int:
    """A 64-bit integer seed from ``text``: the first 8 bytes of its SHA-256, little-endian."""
    return int.from_bytes(hashlib.sha256(str(text).encode("utf-8")).digest()[:8], "little")
