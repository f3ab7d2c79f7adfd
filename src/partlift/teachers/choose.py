"""Which teacher segments a shape when the user names none, and whether a teacher covers a request.

The rule (issue 15, "the unlabelled path works offline"):

* a shape with ground-truth labels -> ``"simulated"`` (the noise model reads the labels);
* an unlabelled shape whose category the packaged learned teacher knows -> ``"learned"``;
* otherwise an :class:`~partlift.errors.InputError` (one line) naming the teachers that could
  work and the learned teacher's categories.

The category comes from the caller (``--category``), else the shape's own metadata (a PartNet-E
folder's parent name), else a PartNet-E category name in the file's path
(:func:`category_from_path`, e.g. ``.../KitchenPot/15/mesh.glb`` or ``bucket_03.glb``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from partlift.errors import InputError

__all__ = ["category_from_path", "match_category", "learned_categories", "default_teacher",
           "closed_vocabulary", "coverage_gap"]

OPEN_VOCABULARY = "grounding-dino+sam, owlv2 or clipseg (pip install 'partlift[hf]', weights download once)"
"""The teachers that need no category, named in the error message."""


def match_category(name: str | None, categories: Iterable[str]) -> str | None:
    """The entry of ``categories`` equal to ``name`` ignoring case, or None."""
    if name is None:
        return None
    key = str(name).strip().lower()
    for cat in categories:
        if cat.lower() == key:
            return cat
    return None


def category_from_path(path: str | Path | None, categories: Iterable[str] | None = None) -> str | None:
    """A category named by ``path``: its file stem's words (``"kitchen_pot-3"`` does not match,
    ``"KitchenPot_3"`` does), then its two parent folders, matched ignoring case against
    ``categories`` (default: the PartNet-E table). None when nothing matches."""
    if path is None:
        return None
    if categories is None:
        from partlift.data.meta import categories as meta_categories

        categories = meta_categories()
    cats = tuple(categories)
    p = Path(path)
    words = [w for w in re.split(r"[^A-Za-z]+", p.stem) if w]
    for candidate in [p.stem, *words, p.parent.name, p.parent.parent.name]:
        hit = match_category(candidate, cats)
        if hit is not None:
            return hit
    return None


def learned_categories(model: str | None = None) -> tuple[str, ...]:
    """Categories of a learned-teacher checkpoint (the packaged one by default); () when none is
    packaged. Reads the header only."""
    from partlift.teachers.learned import describe

    return tuple(describe(model).get("categories") or ())


def default_teacher(shape: Any, category: str | None = None) -> str:
    """The teacher spec for ``shape`` when the user names none (see the module doc).

    Args:
        shape: a :class:`~partlift.types.Shape`.
        category: the shape's category (None = unknown).

    Raises:
        InputError: the shape is unlabelled and the learned teacher does not know ``category``;
            the message names the teachers that could work and the learned teacher's categories.
    """
    if getattr(shape, "semantic", None) is not None:
        return "simulated"
    known = learned_categories()
    if match_category(category, known) is not None:
        return "learned"
    why = ("no category (pass --category)" if category is None
           else f"category {category!r}, which the packaged learned teacher does not know")
    learned = (f"learned (categories {', '.join(known)})" if known else "learned (none is packaged here)")
    raise InputError(
        f"{getattr(shape, 'name', 'shape')}: the shape has no ground-truth labels and {why}; teachers "
        f"that could work: {learned}, learned:<your teacher.safetensors> (`partlift train-teacher`), "
        f"or an open-vocabulary one: {OPEN_VOCABULARY}"
    )


def coverage_gap(teacher: Any, category: str | None, names: Sequence[str]) -> str | None:
    """Why ``teacher`` cannot label ``names`` of ``category`` (one line), or None when it can.

    Only closed-vocabulary teachers (those with a ``vocab``, the learned teacher) have gaps: an
    unknown or missing category, or a part name they do not know for the category.
    """
    vocab = getattr(teacher, "vocab", None)
    if vocab is None:
        return None
    try:
        vocab.part_classes(category, tuple(names))
    except InputError as exc:
        return str(exc)
    return None


def closed_vocabulary(spec: Any) -> bool:
    """Whether the teacher named by ``spec`` (a spec string, or a built teacher) knows only some
    categories and part names — the learned teacher — so that :func:`coverage_gap` is worth asking
    (answered from the spec string without building the teacher)."""
    if not isinstance(spec, str):
        return getattr(spec, "vocab", None) is not None
    from partlift.teachers.registry import spec_name

    return spec_name(spec) == "learned"
