"""Part-name checks: the one validator of part lists (user input, teachers, metrics).

* :func:`check_part_names` — a sequence of non-empty, distinct strings (distinct up to case and
  surrounding spaces with ``fold=True``, as prompt-based teachers need);
* :func:`validate_parts` — a user's part list (a list, or a comma/space separated string),
  defaulting to the shape's own part names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partlift.errors import InputError

__all__ = ["check_part_names", "validate_parts"]


def check_part_names(part_names: Any, *, what: str = "part_names", fold: bool = False) -> tuple[str, ...]:
    """``part_names`` as a tuple, checked: a non-empty sequence of non-empty, distinct strings.

    Args:
        part_names: the names (a list or tuple of str; a bare string is refused).
        what: the owner named in messages.
        fold: compare names ignoring case and surrounding spaces (prompt-based teachers).

    Raises:
        InputError: not a sequence of strings, empty, an empty name, or duplicates.
    """
    if isinstance(part_names, str) or not isinstance(part_names, Sequence):
        raise InputError(
            f"{what}: part_names must be a list of strings such as ['arm', 'back'], got {part_names!r}"
        )
    names = tuple(part_names)
    if not names:
        raise InputError(f"{what}: part_names is empty; give at least one part name")
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise InputError(f"{what}: part names must be non-empty strings, got {bad!r} in {list(names)}")
    keys = [n.strip().lower() for n in names] if fold else list(names)
    dup = sorted({n for n in keys if keys.count(n) > 1})
    if dup:
        how = " (ignoring case and surrounding spaces)" if fold else ""
        raise InputError(f"{what}: part names must be distinct{how}, got {dup} more than once")
    return names


def validate_parts(parts: Sequence[str] | str | None, shape: Any = None) -> tuple[str, ...]:
    """Check a user's part list; default to the shape's own part names when ``parts`` is None.

    A string is split at commas and spaces (``"arm, back leg"``); names are stripped.
    """
    if parts is None:
        if shape is not None and shape.part_names:
            return tuple(shape.part_names)
        raise InputError(
            "no part names given and the shape has none; pass parts, e.g. ['seat', 'back', 'leg']"
        )
    if isinstance(parts, str):
        parts = [p for p in parts.replace(",", " ").split() if p]
    names = tuple(str(p).strip() for p in parts)
    if not names:
        raise InputError("expected at least one part name, got an empty list")
    if any(not n for n in names):
        raise InputError(f"part names must be non-empty strings, got {list(names)}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"part names must be unique, got duplicates {dup}")
    return names
