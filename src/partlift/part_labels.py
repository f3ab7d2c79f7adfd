"""The result of segmenting one shape: :class:`PartLabels`, which saves itself.

It sits above :mod:`partlift.export` (which writes it) and the containers of :mod:`partlift.types`
(which know nothing of files), so no container imports a writer. Import it as
``from partlift import PartLabels`` or ``from partlift.part_labels import PartLabels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from partlift.errors import InputError
from partlift.export import save_labels
from partlift.types import _check_array

__all__ = ["PartLabels"]


@dataclass(frozen=True, eq=False)
class PartLabels:
    """The result of segmenting one shape.

    Attributes:
        semantic: (N,) int64 part index into ``part_names`` per input point; -1 = unlabelled.
        instance: (N,) int64 instance id per input point (consecutive over parts); -1 = none.
        part_names: the part names ``semantic`` indexes.
        scores: (N, C) float32 per-point, per-part scores of the method (votes or probabilities).
        face_semantic: (F,) int64 per-face labels when the input was a mesh, else None.
        face_instance: (F,) int64 per-face instance ids when the input was a mesh, else None.
        xyz: (N, 3) float32 the labelled points in the input's own frame (for exports), or None.
        rgb: (N, 3) float32 their colours in [0, 1], or None.
        mesh: the input mesh (input frame) when the input was a mesh, else None.
        meta: method, timings and settings, JSON-serialisable.
    """

    semantic: np.ndarray
    instance: np.ndarray
    part_names: tuple[str, ...]
    scores: np.ndarray
    face_semantic: np.ndarray | None = None
    face_instance: np.ndarray | None = None
    xyz: np.ndarray | None = None
    rgb: np.ndarray | None = None
    mesh: Any = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = "PartLabels"
        n = _check_array("semantic", self.semantic, (None,), "i", owner=owner).shape[0]
        _check_array("instance", self.instance, (n,), "i", owner=owner)
        _check_array("scores", self.scores, (n, len(self.part_names)), "f", owner=owner)
        if n and self.semantic.max() >= len(self.part_names):
            raise InputError(f"{owner}: semantic label out of range for {len(self.part_names)} parts")

    @property
    def n_points(self) -> int:
        return int(self.semantic.shape[0])

    def counts(self) -> dict[str, int]:
        """Number of points per part name (parts with no point included, as 0)."""
        bins = np.bincount(self.semantic[self.semantic >= 0], minlength=len(self.part_names))
        return {name: int(c) for name, c in zip(self.part_names, bins, strict=True)}

    def save(self, out_dir: Any, *, name: str = "labels") -> dict[str, str]:
        """Write every output a user expects into ``out_dir`` (see :func:`partlift.export.save_labels`).

        Returns a dict of what was written (kind -> path).
        """
        return save_labels(self, out_dir, name=name)
