"""The benchmark: methods on PartNet-E, ShapeNetPart or generated shapes (``partlift bench``).

* :mod:`.settings` — :class:`BenchSettings`, what a run evaluates.
* :mod:`.datasets` — test, few-shot and collection shape sets.
* :mod:`.preparers` — per-category preparation (PartSTAD fitting, PartDistill pre-alignment).
* :mod:`.evaluate` / :mod:`.runner` — the per-shape loop with atomic records and resume.
* :mod:`.report` — results.json (fixed schema), details.json, report.md, plots.
* :mod:`.sweep` — the simulated-teacher noise sweep.
* :mod:`.ray_backend` — the per-shape loop on a Ray cluster (extra ``partlift[ray]``).
* :mod:`.speed` — the speed rigs of ``partlift speed`` (one module per stage, a registry).

Nothing heavy is imported here; the names below resolve on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BenchSettings", "run_bench", "run_sweep"]

_LAZY = {
    "BenchSettings": "partlift.bench.settings",
    "run_bench": "partlift.bench.runner",
    "run_sweep": "partlift.bench.sweep",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'partlift.bench' has no attribute {name!r}")
