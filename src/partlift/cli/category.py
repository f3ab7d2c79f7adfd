"""``--category`` for the commands that run a teacher (``segment``, ``predict``, ``distill``).

One rule for all of them (issue 15, "the unlabelled path works offline"):

* the category is ``--category``, else the shape's own (a PartNet-E folder), else a category name
  in the input's path (``.../Bucket/448/mesh.glb``, ``KitchenPot_3.glb``;
  :func:`partlift.teachers.choose.category_from_path`);
* a closed-vocabulary teacher (the learned one) that does not know the category, or a part name
  for it, stops the command before any rendering with one line listing what it knows
  (:func:`check_coverage`; the CLI turns the InputError into exit status 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

__all__ = ["add_category_arg", "shape_category", "check_coverage"]


PER_SHAPE_DEFAULT = "from a PartNet-E folder or the path"


def add_category_arg(p: argparse.ArgumentParser, default: str = PER_SHAPE_DEFAULT) -> None:
    """Add ``--category`` (the shared wording; ``default`` says where it comes from otherwise)."""
    p.add_argument("--category", default=None,
                   help=f"the shape's category, e.g. KitchenPot; a category-conditioned teacher (learned) "
                        f"needs it (default: {default})")


def shape_category(shape: Any, category: str | None, path: Any = None) -> Any:
    """``shape`` with its category: ``category`` (``--category``), else ``shape.category``, else
    one named by ``path`` (the input file or folder); unchanged when none of them says."""
    from partlift.pipeline import with_category
    from partlift.teachers.choose import category_from_path

    return with_category(shape, category or shape.category or category_from_path(path))


def check_coverage(teacher: Any, category: str | None, names: Sequence[str]) -> None:
    """Raise InputError (one line) when a closed-vocabulary ``teacher`` cannot label part
    ``names`` of ``category`` (unknown or missing category, unknown part name); open-vocabulary
    and simulated teachers always pass. Call it before any rendering."""
    from partlift.errors import InputError
    from partlift.teachers.choose import coverage_gap

    gap = coverage_gap(teacher, category, tuple(names))
    if gap is not None:
        raise InputError(gap)
