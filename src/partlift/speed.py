"""Speed and memory figures of partlift's stages (``partlift speed STAGE``).

Each stage is a function ``fn(points: int | None, device: str) -> dict`` that builds its own
inputs (seeded), times the stage and returns a JSON-ready dict with at least ``stage`` and
``seconds``. ``peak_rss_mb`` is added by :func:`run_stage`. The registry is a plain dict built on
demand; a stage module is imported only when its stage runs. These are measurements for tables
(``benchmarks/``), never assertions.
"""

from __future__ import annotations

import importlib
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from partlift.errors import InputError

# stage name -> "module:function"
_STAGES: dict[str, str] = {
    "normals": "partlift.geometry:speed_normals",
    "render": "partlift.render.speed:speed_render",
    "vote": "partlift.lifting.speed:speed_vote",
    "stad-fit": "partlift.stad.speed:speed_stad_fit",
    "superpoints": "partlift.superpoints.speed:speed_superpoints",
    "synth": "partlift.data.synthetic.speed:speed_synth",
    "pipeline": "partlift.bench.speed:speed_pipeline",
    "pipeline-rss": "partlift.bench.speed:speed_pipeline_rss",
    "distill-tta": "partlift.distill.speed:speed_distill_tta",
    "distill-pre": "partlift.distill.speed:speed_distill_pre",
}


def list_stages() -> list[str]:
    """Names of the stages ``partlift speed`` knows, sorted."""
    return sorted(_STAGES)


def get_stage(name: str) -> Callable[[int | None, str], dict[str, Any]]:
    """The stage function for ``name``; raises with the valid names when unknown."""
    try:
        target = _STAGES[name]
    except KeyError:
        raise InputError(f"unknown speed stage {name!r}; choose one of {list_stages()} or 'all'") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_stage(name: str, points: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Run one stage and return its figures with ``peak_rss_mb`` and ``device`` added."""
    fn = get_stage(name)
    t0 = time.perf_counter()
    result = dict(fn(points, device))
    result.setdefault("stage", name)
    result.setdefault("seconds", time.perf_counter() - t0)
    result["device"] = device
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result
