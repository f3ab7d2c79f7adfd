"""PartNet-E category and part-name table (METHODS §1.5.1).

The table is read from the packaged ``partlift/data/PartNetE_meta.json`` — the only copy in the
code base. This module sits with the containers (it imports only :mod:`partlift.errors`), so the
shape readers of :mod:`partlift.io` and the datasets of :mod:`partlift.data` both read it from
below; ``partlift.data.meta`` re-exports it. The table's
order defines the label ids: ``part_names("Chair")[k]`` is the name of semantic label ``k``.
Categories and parts are always selected by name, never by index.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from partlift.errors import InputError, ShapeFileError

__all__ = [
    "OVERLAPPING_17",
    "META_FILENAME",
    "partnete_meta",
    "categories",
    "part_names",
    "category_group",
    "resolve_part_names",
    "read_meta_file",
    "check_category",
]

META_FILENAME = "PartNetE_meta.json"

# METHODS §1.5.1: the 17 PartNet-E categories shared with PartNet ("overlapping"); the other 28
# are "non-overlapping". PartSLIP reports Overall(17), Overall(28) and Overall(45).
OVERLAPPING_17: tuple[str, ...] = (
    "Bottle",
    "Chair",
    "Clock",
    "Dishwasher",
    "Display",
    "Door",
    "Faucet",
    "Keyboard",
    "Knife",
    "Lamp",
    "Laptop",
    "Microwave",
    "Refrigerator",
    "Scissors",
    "StorageFurniture",
    "Table",
    "TrashCan",
)


def _parse_meta(raw: Any, source: str) -> dict[str, tuple[str, ...]]:
    """Validate a decoded meta JSON object: ``{category: [part name, ...]}``."""
    if not isinstance(raw, Mapping) or not raw:
        raise ShapeFileError(
            f"{source}: expected a non-empty JSON object mapping category -> list of part names, "
            f"got {type(raw).__name__}"
        )
    table: dict[str, tuple[str, ...]] = {}
    for cat, parts in raw.items():
        if (
            not isinstance(parts, list)
            or not parts
            or not all(isinstance(p, str) and p.strip() for p in parts)
        ):
            raise ShapeFileError(
                f"{source}: category {cat!r} must map to a non-empty list of part-name strings, "
                f"got {parts!r}"
            )
        if len(set(parts)) != len(parts):
            raise ShapeFileError(f"{source}: category {cat!r} lists a part name twice: {parts}")
        table[str(cat)] = tuple(parts)
    return table


@functools.lru_cache(maxsize=1)
def _packaged_meta() -> tuple[tuple[str, tuple[str, ...]], ...]:
    text = (Path(__file__).parent / "data" / META_FILENAME).read_text(encoding="utf-8")
    return tuple(_parse_meta(json.loads(text), f"packaged {META_FILENAME}").items())


def partnete_meta() -> dict[str, tuple[str, ...]]:
    """The PartNet-E table ``{category: part names}`` in the JSON's order (a fresh dict).

    Returns:
        dict of 45 categories; each value is the tuple of part names, index = semantic label id.
    """
    return dict(_packaged_meta())


def read_meta_file(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Read a ``PartNetE_meta.json``-format file (e.g. the one at a dataset root).

    Raises:
        ShapeFileError: the file is missing, not JSON, or not ``{category: [part names]}``.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ShapeFileError(f"meta file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShapeFileError(f"cannot read meta file {path} as JSON: {exc}") from exc
    return _parse_meta(raw, str(path))


def categories(meta: Mapping[str, Iterable[str]] | None = None) -> tuple[str, ...]:
    """Category names of ``meta`` (default: the packaged table), sorted alphabetically."""
    return tuple(sorted(partnete_meta() if meta is None else meta))


def check_category(
    category: Any,
    meta: Mapping[str, Any] | None = None,
    *,
    dataset: str = "PartNet-E",
) -> str:
    """Return ``category`` if it names a category of ``meta`` (default: the packaged table).

    Args:
        category: the name to check (case-sensitive).
        meta: the table whose keys are the valid names (default: the packaged PartNet-E table).
        dataset: dataset name used in the error message.

    Raises:
        InputError: not a string, or unknown; the message lists close matches and valid names.
    """
    table = partnete_meta() if meta is None else meta
    if not isinstance(category, str):
        raise InputError(
            f"expected a category name (str), got {type(category).__name__} {category!r}; "
            f"valid names: {', '.join(sorted(table))}"
        )
    if category in table:
        return category
    lower = {c.lower(): c for c in table}
    close = difflib.get_close_matches(category, list(table), n=3, cutoff=0.6)
    if category.lower() in lower and lower[category.lower()] not in close:
        close.insert(0, lower[category.lower()])
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise InputError(
        f"unknown {dataset} category {category!r}; {hint}"
        f"valid names (case-sensitive): {', '.join(sorted(table))}"
    )


def part_names(category: str, meta: Mapping[str, Iterable[str]] | None = None) -> tuple[str, ...]:
    """Ordered part names of ``category`` (index = semantic label id; METHODS §1.5.1).

    Args:
        category: a category name, e.g. "Chair" (case-sensitive).
        meta: a table to look in instead of the packaged one (e.g. a dataset root's meta file).

    Raises:
        InputError: unknown category; the message lists close matches and the valid names.
    """
    table = partnete_meta() if meta is None else meta
    return tuple(table[check_category(category, table)])


def category_group(category: str) -> str:
    """"17" for the overlapping categories (:data:`OVERLAPPING_17`), else "28" (METHODS §1.5.1).

    Raises:
        InputError: ``category`` is not a PartNet-E category.
    """
    check_category(category)
    return "17" if category in OVERLAPPING_17 else "28"


def resolve_part_names(
    category: str | None = None, parts: Iterable[str] | None = None
) -> tuple[str, ...]:
    """The part names to segment: ``parts`` when given (validated), else the category's table.

    Args:
        category: PartNet-E category whose names to use when ``parts`` is None.
        parts: user-given part names: non-empty, unique, non-blank strings (surrounding
            whitespace is stripped). Takes precedence over ``category``.

    Returns:
        tuple of part names; index = label id.

    Raises:
        InputError: neither argument given, a malformed part list, or an unknown category.
    """
    if parts is None:
        if category is None:
            raise InputError(
                "no part names: give a list of part names (e.g. --parts arm back leg seat) "
                "or a PartNet-E category whose names to use"
            )
        return part_names(category)
    if isinstance(parts, str):
        raise InputError(
            f"expected a list of part names, got the single string {parts!r}; "
            f"pass a list, e.g. [{parts!r}] or {parts.split()!r}"
        )
    try:
        items = list(parts)
    except TypeError as exc:
        raise InputError(
            f"expected a list of part names, got {type(parts).__name__}"
        ) from exc
    if not items:
        raise InputError("expected at least one part name, got an empty list")
    bad = [p for p in items if not isinstance(p, str) or not p.strip()]
    if bad:
        raise InputError(
            f"part names must be non-blank strings, got {bad!r} in {items!r}"
        )
    names = [p.strip() for p in items]
    dups = sorted({p for p in names if names.count(p) > 1})
    if dups:
        raise InputError(
            f"part names must be unique, got {dups} more than once in {names}; "
            "list each part once"
        )
    return tuple(names)
