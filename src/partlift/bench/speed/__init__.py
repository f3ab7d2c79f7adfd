"""The speed rigs of ``partlift speed STAGE``: one module per stage, one registry.

A rig is a function ``fn(points: int | None, device: str) -> dict`` that builds its own inputs
(seeded), times its stage and returns a JSON-ready dict with at least ``stage`` and ``seconds``;
:func:`run_stage` adds ``device`` and ``peak_rss_mb``. These are measurements for tables
(``benchmarks/README.md``), never assertions.

====================  ===========================  ============================================
stage                 module                       what is timed
====================  ===========================  ============================================
``normals``           :mod:`.normals`              normal estimation
``render``            :mod:`.render`               the 10-view 800² render
``superpoints``       :mod:`.superpoints`          superpoints, with their purity
``vote``              :mod:`.vote`                 PartSLIP voting + grouping vs its loop reference
``pipeline``          :mod:`.pipeline`             the zero-shot pipeline without the teacher
``pipeline-rss``      :mod:`.pipeline`             the same on 300k points, for peak memory
``stad-fit``          :mod:`.stad_fit`             PartSTAD training of one category
``distill-tta``       :mod:`.distill`              PartDistill test-time alignment of one shape
``distill-tta-m2ae``  :mod:`.distill`              the same with the ``point-m2ae-fast`` student
``distill-pre``       :mod:`.distill`              PartDistill pre-alignment of one category
``synth``             :mod:`.synth`                generating 100 shapes
``throughput``        :mod:`.throughput`           shapes per minute through ``Segmenter``
====================  ===========================  ============================================

This package sits on the top layer beside the benchmark runner: a rig may import anything of
the library, and no library module imports a rig. Importing this registry is cheap: a rig's
module is imported only when its stage runs.
"""

from __future__ import annotations

import importlib
import resource
import sys
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from partlift.errors import InputError

__all__ = ["STAGES", "get_stage", "list_stages", "peak_rss_mb", "run_stage"]

STAGES: Mapping[str, str] = MappingProxyType({
    "normals": "partlift.bench.speed.normals:speed_normals",
    "render": "partlift.bench.speed.render:speed_render",
    "vote": "partlift.bench.speed.vote:speed_vote",
    "stad-fit": "partlift.bench.speed.stad_fit:speed_stad_fit",
    "superpoints": "partlift.bench.speed.superpoints:speed_superpoints",
    "synth": "partlift.bench.speed.synth:speed_synth",
    "pipeline": "partlift.bench.speed.pipeline:speed_pipeline",
    "pipeline-rss": "partlift.bench.speed.pipeline:speed_pipeline_rss",
    "distill-tta": "partlift.bench.speed.distill:speed_distill_tta",
    "distill-tta-m2ae": "partlift.bench.speed.distill:speed_distill_tta_m2ae",
    "distill-pre": "partlift.bench.speed.distill:speed_distill_pre",
    "teacher": "partlift.bench.speed.teacher:speed_teacher",
    "throughput": "partlift.bench.speed.throughput:speed_throughput",
})
"""Stage name -> ``"module:function"`` of its rig (read-only)."""


def list_stages() -> list[str]:
    """Names of the stages ``partlift speed`` knows, sorted."""
    return sorted(STAGES)


def get_stage(name: str) -> Callable[[int | None, str], dict[str, Any]]:
    """The rig of stage ``name``; raises :class:`InputError` with the valid names when unknown."""
    try:
        target = STAGES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown speed stage {name!r}; choose one of {list_stages()} or 'all'") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_stage(name: str, points: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Run one stage's rig and return its figures with ``peak_rss_mb`` and ``device`` added."""
    fn = get_stage(name)
    t0 = time.perf_counter()
    result = dict(fn(points, device))
    result.setdefault("stage", name)
    result.setdefault("seconds", time.perf_counter() - t0)
    result["device"] = device
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result
