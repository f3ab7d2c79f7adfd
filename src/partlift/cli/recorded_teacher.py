"""The teacher a checkpoint was trained with, so ``segment --weights W`` needs no ``--teacher``.

``fit-weights`` defaults to ``simulated:fewshot`` and ``segment`` to ``simulated`` (zero-shot), so
the README recipe ``segment --method partstad --weights chair.safetensors`` used to stop on a
teacher mismatch (issue 13, item 11). Without ``--teacher``, ``segment`` now takes the teacher
recorded in ``--weights`` (PartSTAD) or ``--student`` (PartDistill), without its run options
(``simulated:fewshot(seed=3)`` -> ``simulated:fewshot``, ``learned(teacher.safetensors,...)[Bucket]``
-> ``learned``), else ``simulated``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_TEACHER = "simulated"
# Metadata keys of the two checkpoint kinds (partlift.stad.fit / partlift.distill.align).
_KEYS = ("partlift.stad", "partlift_distill")
# run options "(seed=3)", "(teacher.safetensors,72f56d889f)" and a default category "[Bucket]"
# (partlift.teachers.category) are not part of a teacher spec
_OPTIONS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def recorded_teacher(path: str | None) -> str | None:
    """The teacher name stored in checkpoint ``path`` (options stripped), or None when it cannot
    be read — the method's own loader then reports what is wrong with the file."""
    if not path or not Path(path).is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
    except Exception:  # not a safetensors file: the loader says so in its own words
        return None
    for key in _KEYS:
        try:
            teacher = json.loads(meta[key]).get("teacher")
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if isinstance(teacher, str) and teacher.strip():
            return _OPTIONS.sub("", teacher).strip()
    return None


def resolve_teacher(given: str | None, *checkpoints: str | None) -> str:
    """``given``, else the teacher recorded in the first readable checkpoint, else simulated."""
    if given:
        return given
    for path in checkpoints:
        found = recorded_teacher(path)
        if found:
            log.info("using teacher %s recorded in %s (give --teacher to override)", found, path)
            return found
    return DEFAULT_TEACHER
