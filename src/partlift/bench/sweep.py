"""Noise sweep (``partlift bench ... --sweep``): the methods over simulated-teacher noise levels.

Level ``x`` runs the whole benchmark with the teacher ``simulated:<profile>@x``: every noise
parameter of the profile moved from the oracle's value (x = 0: exact predictions) to the
profile's (x = 1) and beyond (x > 1), see
:meth:`~partlift.teachers.simulated_profiles.SimulatedProfile.scaled`. Each level is a complete,
resumable benchmark folder ``<out>/sweep/noise_<x>/`` (PartSTAD weights and PartDistill students
are prepared per level: they learn that teacher's errors). The sweep writes ``sweep.json``
(``{"levels": [...], "methods": {NAME: {"miou": [...], "map50": [...]}}}``, percent, null where a
method has no score), ``plots/noise_sweep.png`` and ``report.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from partlift.bench.settings import DEFAULT_SWEEP_LEVELS, BenchSettings
from partlift.bench.store import atomic_save_figure, atomic_write_json, atomic_write_text
from partlift.errors import InputError

__all__ = ["sweep_teacher", "run_sweep", "plot_sweep", "check_levels"]

logger = logging.getLogger(__name__)


def check_levels(levels: Sequence[float] | None) -> tuple[float, ...]:
    """Sorted unique noise levels (default :data:`DEFAULT_SWEEP_LEVELS`); each must be >= 0."""
    if not levels:
        return DEFAULT_SWEEP_LEVELS
    try:
        vals = sorted({float(x) for x in levels})
    except (TypeError, ValueError):
        raise InputError(f"--sweep: expected numbers (noise levels), got {list(levels)}") from None
    if any(not np.isfinite(v) or v < 0 for v in vals):
        raise InputError(f"--sweep: noise levels must be finite and >= 0, got {vals}")
    return tuple(vals)


def sweep_teacher(teacher: str, level: float) -> str:
    """The teacher spec of noise ``level``: ``simulated:<profile>@<level>`` (+ its refiner).

    Raises:
        InputError: the teacher is not the simulated one.
    """
    from partlift.teachers.registry import parse_teacher_spec
    from partlift.teachers.simulated_profiles import DEFAULT_PROFILE

    parts = parse_teacher_spec(teacher)
    name, option = parts[0]
    if name != "simulated":
        raise InputError(
            f"--sweep varies the simulated teacher's noise; --teacher {teacher!r} is not simulated "
            "(use e.g. --teacher simulated:zeroshot)"
        )
    profile = (option or DEFAULT_PROFILE).partition("@")[0]
    spec = f"simulated:{profile}@{level:g}"
    for rname, ropt in parts[1:]:
        spec += f"+{rname}" + (f":{ropt}" if ropt else "")
    return spec


def plot_sweep(path: str | Path, sweep: dict[str, Any]) -> Path | None:
    """mIoU (solid) and mAP50 (dashed) against the noise level, one colour per method."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    levels = sweep["levels"]
    if not sweep["methods"]:
        return None
    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    for i, (m, v) in enumerate(sweep["methods"].items()):
        color = f"C{i}"
        miou = [np.nan if x is None else x for x in v["miou"]]
        ax.plot(levels, miou, "o-", color=color, label=f"{m} mIoU")
        if any(x is not None for x in v["map50"]):
            ap = [np.nan if x is None else x for x in v["map50"]]
            ax.plot(levels, ap, "s--", color=color, alpha=0.6, label=f"{m} mAP50")
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(f"teacher noise level (0 = oracle, 1 = {sweep['profile']})")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(f"noise sweep — {sweep['dataset']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return atomic_save_figure(path, fig)


def _markdown(sweep: dict[str, Any], plot: str | None) -> str:
    levels = sweep["levels"]
    lines = [f"# partlift bench — noise sweep ({sweep['dataset']})", "",
             (f"Teacher `{sweep['teacher']}` with its noise scaled: 0 = oracle, 1 = profile "
             f"`{sweep['profile']}`. Each level's full report: `sweep/noise_<level>/report.md`."), ""]
    for metric, title in (("miou", "mIoU"), ("map50", "mAP50")):
        if all(x is None for v in sweep["methods"].values() for x in v[metric]):
            continue
        lines += [f"## {title} (%)", "", "| method | " + " | ".join(f"{x:g}" for x in levels) + " |",
                  "|---|" + "---|" * len(levels)]
        for m, v in sweep["methods"].items():
            lines.append(f"| {m} | " + " | ".join("–" if x is None else f"{x:.1f}" for x in v[metric]) + " |")
        lines.append("")
    if plot:
        lines += [f"![noise sweep]({plot})", ""]
    return "\n".join(lines)


def run_sweep(settings: BenchSettings, levels: Sequence[float] | None = None, *, progress: bool = True,
              ray_address: str | None = None, fresh: bool = False) -> dict[str, Any]:
    """Run the benchmark at each noise level and write sweep.json, plots/noise_sweep.png, report.md.

    Returns:
        the sweep.json content.
    """
    from partlift.bench.runner import run_bench

    lv = check_levels(levels)
    base = sweep_teacher(settings.teacher, 1.0)  # validates the teacher
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    sweep: dict[str, Any] = {"dataset": settings.dataset, "teacher": settings.teacher,
                             "profile": base.split(":", 1)[1].split("@")[0], "levels": list(lv),
                             "methods": {m: {"miou": [], "map50": []} for m in settings.methods}}
    for level in lv:
        sub = settings.replace(teacher=sweep_teacher(settings.teacher, level),
                               out=str(out / "sweep" / f"noise_{level:g}"))
        logger.info("sweep: noise level %g (%s)", level, sub.teacher)
        res = run_bench(sub, progress=progress, ray_address=ray_address, fresh=fresh)
        for m in settings.methods:
            r = res["methods"].get(m, {})
            sweep["methods"][m]["miou"].append(r.get("miou"))
            sweep["methods"][m]["map50"].append(r.get("map50"))
    atomic_write_json(out / "sweep.json", sweep)
    plot = None
    try:
        p = plot_sweep(out / "plots" / "noise_sweep.png", sweep)
        plot = None if p is None else str(p.relative_to(out))
    except Exception as exc:  # a plot must never lose the numbers
        logger.warning("could not draw the sweep plot: %s", exc)
    atomic_write_text(out / "report.md", _markdown(sweep, plot))
    return sweep
