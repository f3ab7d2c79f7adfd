"""The PartNet-E category and part-name table: moved to :mod:`partlift.categories` (it sits with
the containers so that :mod:`partlift.io` can read it from below); re-exported here."""

from __future__ import annotations

from partlift.categories import (
    META_FILENAME,
    OVERLAPPING_17,
    categories,
    category_group,
    check_category,
    part_names,
    partnete_meta,
    read_meta_file,
    resolve_part_names,
)

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
