"""Atomic file writes: write beside the target, then rename onto it.

Every writer of results, checkpoints, caches and pictures goes through :func:`replacing`, so that
an interrupted run never leaves a half-written file under the final name (a resumed run would
trust it) and a failed write leaves the previous file in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["replacing", "write_bytes", "write_text", "write_json", "save_figure"]


@contextlib.contextmanager
def replacing(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a new, empty temporary file beside ``path``; on success it replaces ``path``.

    The parent folder is created if needed. If the block raises, the temporary file is removed
    and ``path`` is left untouched. The temporary name is unique (process id + random token) and
    ends with ``suffix``, so writers that pick a format by suffix (``np.save``, ``savefig``,
    PIL) keep working when given ``suffix=path.suffix``. The file is created with the usual
    permissions (0o666 less the umask), like a plain ``open(path, "w")``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        # Writers that replace the file themselves (safetensors' save_file) create it 0600:
        # give the result the usual permissions again (checkpoints were 0600, issue 13 item 13).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process umask, read without changing it (Linux ``/proc``; else set-and-restore)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as a Path."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 1, **dumps: Any) -> Path:
    """Write ``obj`` as JSON (``json.dumps(obj, indent=indent, **dumps)`` + newline) atomically."""
    return write_text(path, json.dumps(obj, indent=indent, **dumps) + "\n")


def save_figure(path: str | os.PathLike, fig: Any, **savefig: Any) -> Path:
    """Save a matplotlib figure atomically; the format follows ``path``'s suffix."""
    path = Path(path)
    with replacing(path, suffix=path.suffix or ".tmp") as tmp:
        fig.savefig(tmp, **savefig)
    return path
