"""PartSLIP as a :class:`~partlift.pipeline.Segmenter` method (METHODS §2.3–2.5)."""

from __future__ import annotations

from typing import Any

from partlift.config import to_dict
from partlift.pipeline import MethodResult, PreparedShape
from partlift.types import Predictions


def run_partslip(segmenter: Any, prepared: PreparedShape, predictions: Predictions) -> MethodResult:
    """Box voting over superpoints, thresholded labels and union-find instances (PartSLIP)."""
    from partlift.lifting.voting import partslip_labels

    semantic, instance, scores = partslip_labels(
        prepared.views,
        predictions,
        prepared.superpoints,
        prepared.shape.xyz,
        predictions.part_names,
        segmenter.vote_config,
    )
    return MethodResult(semantic, instance, scores, {"vote": to_dict(segmenter.vote_config)})
