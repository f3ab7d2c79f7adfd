"""Several learned-teacher checkpoints as one teacher: each shape goes to the first that knows its category.

The package ships two checkpoints (``partlift/teachers/learned/weights/``, see
:func:`partlift.teachers.learned.packaged_checkpoints`): a *specialist* trained on fewer
categories, which measured better on the real dev shapes of its categories, and a *generalist*
trained on all 45 generator categories, which makes every other category work offline
(docs/learned_teacher.md, "Shipped checkpoints"). :class:`RoutedTeacher` sends each shape to the
first member whose vocabulary knows ``shape.category`` — a fixed rule decided by the category
alone, so a shape's predictions are those of exactly one member network (never a blend).

The routed teacher looks like a :class:`~partlift.teachers.learned.teacher.LearnedTeacher` to the
rest of partlift (``kind``, ``mode``, ``needs_category``, ``vocab`` for the coverage checks,
``predict``, ``probabilities``). Its :attr:`name` names every member, so a cache entry or a
PartSTAD weight file made with it is tied to this exact set of files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from partlift.errors import InputError
from partlift.teachers.learned.teacher import LearnedTeacher
from partlift.types import Predictions, Shape, Views

__all__ = ["RoutedTeacher", "RoutedVocabulary"]


class RoutedVocabulary:
    """The union of several :class:`~partlift.teachers.learned.checkpoint.Vocabulary` objects,
    each category answered by the first vocabulary that knows it.

    Args:
        vocabs: the members' vocabularies, in priority order (at least one).
    """

    def __init__(self, vocabs: Sequence[Any]) -> None:
        if not vocabs:
            raise InputError("learned teacher: a routed vocabulary needs at least one member")
        self.vocabs = tuple(vocabs)

    @property
    def categories(self) -> tuple[str, ...]:
        """Every category some member knows, sorted."""
        return tuple(sorted({c for v in self.vocabs for c in v.categories}))

    @property
    def part_names(self) -> dict[str, tuple[str, ...]]:
        """category -> part names, from the member that answers for the category."""
        out: dict[str, tuple[str, ...]] = {}
        for v in reversed(self.vocabs):
            out.update(v.part_names)
        return {c: out[c] for c in sorted(out)}

    def owner(self, category: str | None) -> int | None:
        """Index of the first member that knows ``category`` (case-insensitive), else None."""
        if category is None:
            return None
        key = str(category).strip().lower()
        for i, v in enumerate(self.vocabs):
            if any(c.lower() == key for c in v.categories):
                return i
        return None

    def answering(self, category: str | None) -> int:
        """Index of the member that answers for ``category``; InputError (one line listing the
        known categories) when none does."""
        i = self.owner(category)
        if i is None:
            if category is None:
                raise InputError("learned teacher: the shape's category is unknown; pass --category (one of "
                                 f"{', '.join(self.categories)})")
            raise InputError(f"learned teacher: category {category!r} is not one it was trained on; it knows "
                             f"{', '.join(self.categories)}")
        return i

    def category_index(self, category: str | None) -> int:
        """Index of ``category`` in :attr:`categories` (InputError listing the known ones otherwise)."""
        self.answering(category)
        key = str(category).strip().lower()
        return next(i for i, c in enumerate(self.categories) if c.lower() == key)

    def part_classes(self, category: str, names: tuple[str, ...]) -> np.ndarray:
        """(C,) int64 class ids of ``names`` in the answering member's class list (see
        :meth:`Vocabulary.part_classes`; an unknown part name is an InputError listing the known)."""
        return self.vocabs[self.answering(category)].part_classes(category, names)

    def point_classes(self, category: str, semantic: np.ndarray, part_names: tuple[str, ...]) -> np.ndarray:
        """(N,) int64 point classes in the answering member's class list."""
        return self.vocabs[self.answering(category)].point_classes(category, semantic, part_names)


class RoutedTeacher:
    """Learned teachers in priority order; each shape is labelled by the first that knows its category.

    Args:
        members: loaded :class:`LearnedTeacher` objects (same ``mode``), in priority order.
    """

    needs_ground_truth = False
    needs_category = True

    def __init__(self, members: Sequence[LearnedTeacher]) -> None:
        members = tuple(members)
        if not members:
            raise InputError("learned teacher: a routed teacher needs at least one checkpoint")
        modes = {m.mode for m in members}
        if len(modes) != 1:
            raise InputError(f"learned teacher: routed members must share one mode, got {sorted(modes)}")
        self.members = members
        self.mode = members[0].mode
        self.kind = members[0].kind
        self.device = members[0].device
        self.vocab = RoutedVocabulary([m.vocab for m in members])

    @property
    def name(self) -> str:
        """``learned(<member 1>|<member 2>...)``: every member's file name, hash and options."""
        inner = "|".join(m.name[len("learned("):-1] for m in self.members)
        return f"learned({inner})"

    @property
    def categories(self) -> tuple[str, ...]:
        return self.vocab.categories

    @property
    def header(self) -> dict[str, Any]:
        """The first member's header plus ``members``: every member's header in priority order."""
        return {**self.members[0].header, "members": [m.header for m in self.members]}

    def member_for(self, category: str | None) -> LearnedTeacher:
        """The member that labels shapes of ``category`` (InputError when none knows it)."""
        return self.members[self.vocab.answering(category)]

    @property
    def feature_dim(self) -> int:
        """Feature length of the first member (a category's predictions carry its member's length:
        use ``predictions.feature_dim``)."""
        return self.members[0].feature_dim

    def probabilities(self, views: Views, shape: Shape):
        """The answering member's ``(prob, features, foreground)`` (see :meth:`LearnedTeacher.probabilities`)."""
        if not isinstance(shape, Shape):
            raise InputError(f"learned teacher: expected the rendered Shape, got {type(shape).__name__}")
        return self.member_for(shape.category).probabilities(views, shape)

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        """The answering member's predictions (see :meth:`LearnedTeacher.predict`), with
        ``teacher`` set to this routed teacher's :attr:`name`."""
        if not isinstance(shape, Shape):
            raise InputError(f"learned teacher: expected the rendered Shape, got {type(shape).__name__}")
        member = self.member_for(shape.category)
        preds = member.predict(views, part_names, shape)
        return dataclasses.replace(preds, teacher=self.name, meta={**preds.meta, "member": member.name})
