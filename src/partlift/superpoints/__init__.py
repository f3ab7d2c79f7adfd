"""Superpoints: over-segmentation of a point cloud by the L0 energy of METHODS §1.4.

    >>> from partlift.superpoints import SuperpointConfig, compute_superpoints, purity
    >>> ids = compute_superpoints(xyz, rgb=rgb, config=SuperpointConfig(reg=0.05))
    >>> purity(ids, semantic_labels)

Modules: :mod:`~partlift.superpoints.config` (settings), :mod:`~partlift.superpoints.graph`
(kNN graph, features, weights, energy), :mod:`~partlift.superpoints.fusion` (greedy L0 region
merging, the default minimiser), :mod:`~partlift.superpoints.cutpursuit` (L0 cut pursuit with
graph cuts), :mod:`~partlift.superpoints.merge` (small components),
:mod:`~partlift.superpoints.purity` (purity, upper bound). Speed rig (``partlift speed
superpoints``): :mod:`partlift.bench.speed.superpoints`. Method, choices and measurements:
docs/superpoints.md.
"""

from __future__ import annotations

from partlift.superpoints.compute import (
    SuperpointInfo,
    compute_superpoints,
    compute_superpoints_info,
    list_minimisers,
    superpoints_for_shape,
)
from partlift.superpoints.config import SuperpointConfig
from partlift.superpoints.graph import l0_energy
from partlift.superpoints.purity import (
    majority_labels,
    purity,
    superpoint_miou_bound,
    superpoint_upper_bound,
)

__all__ = [
    "SuperpointConfig",
    "SuperpointInfo",
    "compute_superpoints",
    "compute_superpoints_info",
    "l0_energy",
    "list_minimisers",
    "majority_labels",
    "purity",
    "superpoint_miou_bound",
    "superpoint_upper_bound",
    "superpoints_for_shape",
]
