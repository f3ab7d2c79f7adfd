"""Lifting 2D predictions to 3D points (METHODS §1.2, §2, §6).

* :mod:`partlift.lifting.coverage` — the sparse coverage matrix K every method consumes;
* :mod:`partlift.lifting.voting` / :mod:`partlift.lifting.instances` — PartSLIP's superpoint
  voting and instance grouping; :mod:`partlift.lifting.config` — their settings (``VoteConfig``);
  :mod:`partlift.lifting.incidence` — the (view, superpoint, box) pass both share;
  :mod:`partlift.lifting.method` — PartSLIP as a registered method.

Only the coverage functions are re-exported here; import the others from their modules.
"""

from __future__ import annotations

from partlift.lifting.coverage import (
    REGIONS,
    coverage,
    coverage_dense_reference,
    whole_object_fraction,
)

__all__ = ["REGIONS", "coverage", "coverage_dense_reference", "whole_object_fraction"]
