"""The teacher interfaces every 2D predictor implements (DESIGN §3 "Teachers").

A *teacher* turns the rendered views of one shape and a list of part names into
:class:`~partlift.types.Predictions`. A *mask refiner* (SAM) turns box predictions into mask
predictions. Teachers are built by name through :mod:`partlift.teachers.registry`; a name such as
``"grounding-dino+sam"`` composes a box teacher with a refiner (:class:`RefinedTeacher`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from partlift.types import Predictions, Shape, Views


@runtime_checkable
class Teacher(Protocol):
    """A 2D part predictor.

    Attributes:
        name: registry name with options, e.g. ``"simulated:zeroshot"``; part of cache keys and
            checkpoints, so it must identify the predictor and every option that changes its output.
        kind: ``"box"`` (regions are boxes), ``"mask"`` (boxes + masks) or ``"pixel"`` (per-part
            pixel regions from a dense model, stored as masks with their boxes).
        needs_ground_truth: True for teachers that read the shape's labels (the simulated one).
    """

    name: str
    kind: str
    needs_ground_truth: bool

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        """Predict parts on every view of ``views`` (rendered from ``shape``, unit-sphere frame).

        Returns predictions with labels indexing ``part_names``; an empty
        :class:`~partlift.types.Predictions` (``Predictions.empty``) when nothing is found.
        """
        ...


@runtime_checkable
class MaskRefiner(Protocol):
    """Turns box predictions into mask predictions (SAM, METHODS §3.2 step 4)."""

    name: str

    def refine(self, views: Views, predictions: Predictions) -> Predictions:
        """The same predictions (same order, boxes and features) with ``masks`` filled in."""
        ...


@dataclass
class RefinedTeacher:
    """A box teacher followed by a mask refiner: ``"<box teacher>+<refiner>"``."""

    teacher: Teacher
    refiner: MaskRefiner

    @property
    def name(self) -> str:
        return f"{self.teacher.name}+{self.refiner.name}"

    @property
    def kind(self) -> str:
        return "mask"

    @property
    def needs_ground_truth(self) -> bool:
        return bool(self.teacher.needs_ground_truth)

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        boxes = self.teacher.predict(views, part_names, shape)
        if len(boxes) == 0:
            return boxes
        return self.refiner.refine(views, boxes)
