"""A category-conditioned teacher with a default category for shapes that name none.

``partlift distill --collection FOLDER --category Bucket --teacher learned`` reads plain mesh or
point-cloud files whose :attr:`~partlift.types.Shape.category` is None; the learned teacher is
conditioned on the category and would refuse each of them. :func:`with_default_category` wraps the
teacher so that such shapes are predicted as ``category`` (shapes that carry a category of their
own, e.g. from a PartNet-E root or a generator, keep it).

The wrapper's :attr:`CategoryDefault.name` adds the default category (``learned(...)[Bucket]``):
the prediction cache key holds the shape's own category (None here), so the teacher's name must
say which category the predictions were made for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partlift.errors import InputError
from partlift.types import Predictions, Shape, Views

__all__ = ["CategoryDefault", "with_default_category"]


class CategoryDefault:
    """``teacher`` predicting shapes without a category as ``category`` (see the module doc).

    Every other attribute (``kind``, ``vocab``, ``feature_dim``, ...) is the wrapped teacher's.
    """

    def __init__(self, teacher: Any, category: str) -> None:
        if not isinstance(category, str) or not category.strip():
            raise InputError(f"category: expected a category name such as 'KitchenPot', got {category!r}")
        self.teacher = teacher
        self.category = category.strip()

    @property
    def name(self) -> str:
        return f"{self.teacher.name}[{self.category}]"

    @property
    def kind(self) -> str:
        return self.teacher.kind

    @property
    def needs_ground_truth(self) -> bool:
        return bool(getattr(self.teacher, "needs_ground_truth", False))

    def __getattr__(self, attr: str) -> Any:
        if attr == "teacher":  # not set yet (copy / unpickle): no recursion
            raise AttributeError(attr)
        return getattr(self.teacher, attr)

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        """The wrapped teacher's predictions, ``shape.category`` defaulting to :attr:`category`."""
        if isinstance(shape, Shape) and shape.category is None:
            shape = shape.replace(category=self.category)
        return self.teacher.predict(views, part_names, shape)


def with_default_category(teacher: Any, category: str | None) -> Any:
    """``teacher`` wrapped in :class:`CategoryDefault` when it is conditioned on the category
    (``needs_category``, the learned teacher) and ``category`` is given; else ``teacher``."""
    if category is None or not getattr(teacher, "needs_category", False):
        return teacher
    return CategoryDefault(teacher, category)
