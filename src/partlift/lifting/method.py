"""PartSLIP as a registered method (:mod:`partlift.methods`, METHODS §2.3–2.5).

Config: :class:`~partlift.lifting.voting.VoteConfig` (the run's vote settings with the method's
options applied, e.g. ``--set partslip.region=mask``).
"""

from __future__ import annotations

from partlift.lifting.config import VoteConfig
from partlift.methods import MethodContext
from partlift.types import MethodResult, Predictions, PreparedShape


def run_partslip(
    prepared: PreparedShape, predictions: Predictions, config: VoteConfig, context: MethodContext
) -> MethodResult:
    """Box voting over superpoints, thresholded labels and union-find instances (PartSLIP)."""
    from partlift.lifting.voting import partslip_labels

    del context  # the method interface's; PartSLIP needs only its config

    semantic, instance, scores = partslip_labels(
        prepared.views,
        predictions,
        prepared.superpoints,
        prepared.shape.xyz,
        predictions.part_names,
        config,
    )
    return MethodResult(semantic, instance, scores, {"vote": config.to_dict()})
