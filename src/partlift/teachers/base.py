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

from partlift.errors import InputError
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


def known_parts(teacher: object, shape: Shape) -> tuple[str, ...] | None:
    """The part names ``teacher`` can predict on ``shape``; None = any name (open vocabulary).

    A teacher says what it knows with an optional ``known_parts(shape)`` method: the simulated
    teacher knows the shape's labelled parts, a closed-vocabulary model its label list.
    Open-vocabulary teachers (Grounding DINO, OWLv2, CLIPSeg) have no such method.
    """
    fn = getattr(teacher, "known_parts", None)
    if fn is None:
        return None
    known = fn(shape)
    return None if known is None else tuple(known)


def check_part_names(teacher: object, names: Sequence[str], shape: Shape) -> None:
    """Raise InputError (one line, listing what the teacher knows) for part names it cannot know.

    Without this an unknown name (``--parts arm back flux``) was accepted and, with the simulated
    teacher's confusions, even given points (issue 13, item 6).
    """
    known = known_parts(teacher, shape)
    if known is None:
        return
    unknown = [n for n in names if n not in known]
    if unknown:
        label = getattr(teacher, "name", type(teacher).__name__)
        raise InputError(
            f"teacher {label} does not know part name(s) {unknown} for {shape.name}; it knows "
            f"{list(known)} — choose part names from that list"
        )


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

    def known_parts(self, shape: Shape) -> tuple[str, ...] | None:
        """The box teacher's vocabulary (see :func:`known_parts`)."""
        return known_parts(self.teacher, shape)

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        boxes = self.teacher.predict(views, part_names, shape)
        if len(boxes) == 0:
            return boxes
        return self.refiner.refine(views, boxes)
