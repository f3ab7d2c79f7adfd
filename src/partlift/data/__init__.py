"""Datasets: PartNet-E (:mod:`.partnete`), ShapeNetPart (:mod:`.shapenetpart`), the PartNet-E
part-name table (:mod:`.meta`) and the procedural generator (:mod:`.synthetic`).

Only the light-weight table helpers are re-exported here; import the readers from their modules.
"""

from __future__ import annotations

from partlift.categories import (
    OVERLAPPING_17,
    categories,
    category_group,
    part_names,
    partnete_meta,
    resolve_part_names,
)

__all__ = [
    "OVERLAPPING_17",
    "categories",
    "category_group",
    "part_names",
    "partnete_meta",
    "resolve_part_names",
]
