"""Where a command writes: check ``--out`` before any work, and own the output folder.

Every writing command's ``--out`` is checked before the command computes anything, so that a
destination that cannot be written (``/proc/x``, an existing file where a folder is expected, a
folder where a file is expected, a path under a file) is one line and exit status 2, not a
traceback after minutes of work. The kinds of destination:

* ``"folder"`` (segment, render, predict, demo): the run owns the folder. It writes into a fresh
  sibling staging folder (``.NAME.partial-PID-TOKEN``) and, only when the command succeeds, swaps
  it in place of ``NAME`` as a whole: files of an earlier run never remain beside the new ones,
  and a failed or interrupted run leaves the earlier folder untouched. An existing non-empty
  folder is only replaced when partlift wrote it (it holds one of the files every such command
  writes: ``summary.json`` (segment), ``results.json`` (demo), ``predictions.json`` (predict),
  ``view_00.png`` (render)); otherwise the command refuses, so ``--out .`` can never delete a
  user's files.
* ``"file"`` (fit-weights, distill): a file; its sidecars (``.state.pt``, ``.log.json`` ...) sit
  beside it and an interrupted run resumes from them.
* ``"root"`` (synth): a dataset root that runs add shapes to.
* ``"bench"``: a resumable run folder, locked for the run (:func:`lock_folder`): a second run on
  the same folder exits 2 naming the running one's pid.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from partlift.errors import InputError

log = logging.getLogger(__name__)

# Files by which an output folder written by partlift (segment, demo, predict, render) is known.
OUTPUT_FILES = ("summary.json", "results.json", "predictions.json", "view_00.png")
KINDS = ("folder", "file", "root", "bench")


def _fail(flag: str, path: Path, why: str) -> InputError:
    return InputError(f"{flag} {path}: {why}")


def _probe_folder(folder: Path, flag: str, shown: Path) -> None:
    """Create ``folder`` (and parents) if needed and check a file can be created in it."""
    for p in (folder, *folder.parents):
        if p.exists() and not p.is_dir():
            raise _fail(flag, shown, f"{p} is a file, not a folder; choose another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".partlift-probe-{os.getpid()}-{secrets.token_hex(4)}"
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _fail(flag, shown, f"cannot write there ({reason}); choose a writable path") from None


def check_out(path: str | os.PathLike, kind: str, flag: str = "--out") -> Path:
    """Check that ``path`` can receive a command's output of ``kind`` (see the module docstring).

    Creates the parent folders it needs (and, for ``"root"``/``"bench"``, the folder itself).
    Returns the path, absolute. Raises InputError (one line) when it cannot.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}")
    shown = Path(path)
    target = Path(os.path.abspath(os.path.expanduser(str(path))))
    if kind == "file":
        if target.is_dir():
            raise _fail(flag, shown, "is a folder; give a file path, e.g. weights.safetensors")
        _probe_folder(target.parent, flag, shown)
        return target
    if target.exists() and not target.is_dir():
        raise _fail(flag, shown, "expected a folder, but a file of that name exists; choose another path")
    if kind == "folder":
        _probe_folder(target.parent, flag, shown)
        if target.is_dir() and not owned_by_partlift(target):
            raise _fail(flag, shown, "the folder holds files partlift did not write; a run replaces its "
                        "output folder as a whole, so choose a new or empty folder")
        if target.is_dir() and not os.access(target, os.W_OK):
            raise _fail(flag, shown, "the folder is not writable; choose another path")
    else:
        _probe_folder(target, flag, shown)
    return target


def owned_by_partlift(folder: Path) -> bool:
    """True when ``folder`` is empty or an earlier partlift run wrote it."""
    names = {p.name for p in folder.iterdir()}
    return not names or any(n in names for n in OUTPUT_FILES)


@contextlib.contextmanager
def owned_folder(target: Path, command: str) -> Iterator[Path]:
    """Yield a fresh staging folder beside ``target``; on success it replaces ``target`` whole.

    If the block raises (or is interrupted), the staging folder is deleted and ``target`` (with
    whatever an earlier run wrote there) is left exactly as it was.
    """
    target = Path(target)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    staging = target.with_name(f".{target.name}.partial-{token}")
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        _remove(staging)
        raise
    old = target.with_name(f".{target.name}.previous-{token}")
    if target.exists():
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old.exists():
            os.rename(old, target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    log.debug("partlift %s: %s replaced as a whole", command, target)


def _remove(folder: Path) -> None:
    """Delete ``folder``, finishing the job even if Ctrl-C comes meanwhile."""
    for _ in range(10):
        try:
            shutil.rmtree(folder, ignore_errors=True)
            return
        except KeyboardInterrupt:
            continue


@contextlib.contextmanager
def lock_folder(folder: Path, command: str, flag: str = "--out") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``folder/.lock``) for the block.

    The lock is an ``flock`` on a file holding the owner's pid: the kernel releases it when the
    process ends, however it ends, so a killed run never leaves a stale lock. A second run on the
    same folder raises InputError naming the running one's pid.
    """
    lock_path = Path(folder) / ".lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise InputError(
                f"{flag} {folder}: another partlift {command} (pid {holder}) is writing there; wait "
                "for it to finish or choose another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def remove_if_unused(folder: Path) -> None:
    """Remove ``folder`` when it holds nothing but a released lock file (a run that did no work)."""
    try:
        names = {p.name for p in Path(folder).iterdir()}
        if names <= {".lock"}:
            (Path(folder) / ".lock").unlink(missing_ok=True)
            Path(folder).rmdir()
    except OSError:
        pass  # in use or already gone: leave it


def shown_out(args: object) -> str:
    """The ``--out`` the user gave (a command writing an owned folder sees its staging folder)."""
    return str(getattr(args, "out_final", None) or getattr(args, "out", ""))


def relative_files(files: dict[str, str], folder: str | os.PathLike) -> dict[str, str]:
    """``{kind: path}`` with each path relative to ``folder`` (POSIX separators), so that a
    ``summary.json`` stays true when the output folder is moved (or swapped in from staging)."""
    base = os.path.abspath(folder)
    return {k: Path(os.path.relpath(os.path.abspath(v), base)).as_posix() for k, v in files.items()}
