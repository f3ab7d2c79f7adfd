"""``partlift speed superpoints``: time superpoints and measure their purity and count.

The timed input is a generated, labelled shape (``partlift.data.synthetic``, Chair, seed 0,
100,000 points by default), normalised to the unit sphere, with its normals dropped so that
normal estimation is timed too (as for a PartNet-E ``pc.ply``, which has none). When the real
dev shapes are reachable -- ``$PARTLIFT_REAL_DEV``, or ``../shared/data/partnete_real_dev``
beside this source checkout -- and ``--points`` is not given, every one of them is measured as
well (``"real_dev"``). Measurements for tables, never assertions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from partlift.errors import InputError

__all__ = ["DEFAULT_POINTS", "measure_shape", "real_dev_root", "speed_superpoints"]

DEFAULT_POINTS = 100_000
_CATEGORY = "Chair"
_SEED = 0
_REPEATS = 3


def real_dev_root() -> Path | None:
    """The real PartNet-E-layout dev shapes, if reachable (``$PARTLIFT_REAL_DEV`` first)."""
    env = os.environ.get("PARTLIFT_REAL_DEV")
    candidates = [Path(env)] if env else []
    # A source checkout <repo>/src/partlift/bench/speed/superpoints.py -> <repo>/../shared/...
    candidates.append(Path(__file__).resolve().parents[5] / "shared" / "data" / "partnete_real_dev")
    for root in candidates:
        if (root / "PartNetE_meta.json").is_file():
            return root
    return None


def measure_shape(shape: Any, config: Any = None) -> dict[str, Any]:
    """Superpoints of one labelled shape: seconds, counts, energy and purities.

    Args:
        shape: a :class:`~partlift.types.Shape` with ``semantic`` (and optionally ``instance``)
            labels, in the unit-sphere frame; its normals are used if present.
        config: a :class:`~partlift.superpoints.SuperpointConfig` (default settings if None).
    """
    from partlift.superpoints import compute_superpoints_info, purity

    t0 = time.perf_counter()
    info = compute_superpoints_info(shape.xyz, normals=shape.normals, rgb=shape.rgb, config=config)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        "shape": shape.name,
        "points": shape.n_points,
        "seconds": round(seconds, 3),
        "seconds_by_step": {k: round(v, 3) for k, v in info.seconds.items()},
        "n_superpoints": info.n_superpoints,
        "n_components": info.n_components,
        "energy": round(info.energy, 3),
    }
    if shape.semantic is not None:
        out["purity"] = round(purity(info.superpoints, shape.semantic), 4)
    if shape.instance is not None:
        out["instance_purity"] = round(purity(info.superpoints, shape.instance), 4)
    return out


def _real_dev(root: Path, config: Any) -> dict[str, Any]:
    from partlift.geometry import normalize
    from partlift.io import load_shape

    rows = []
    for pc in sorted(root.glob("*/*/pc.ply")):
        shape = normalize(load_shape(pc.parent))
        rows.append(measure_shape(shape.replace(normals=None, name=f"{pc.parent.parent.name}/{pc.parent.name}"), config))
    if not rows:
        return {"root": str(root), "shapes": []}
    return {
        "root": str(root),
        "shapes": rows,
        "mean_purity": round(float(np.mean([r["purity"] for r in rows])), 4),
        "min_purity": round(float(np.min([r["purity"] for r in rows])), 4),
        "mean_instance_purity": round(float(np.mean([r["instance_purity"] for r in rows])), 4),
        "mean_n_superpoints": round(float(np.mean([r["n_superpoints"] for r in rows])), 1),
        "max_seconds": round(float(np.max([r["seconds"] for r in rows])), 3),
    }


def speed_superpoints(points: int | None, device: str, *, repeats: int = _REPEATS) -> dict[str, Any]:
    """Time superpoints (default settings) on a generated labelled shape; see module doc.

    As the normals and render rigs: one untimed warm-up call on the same shape (first-call
    allocations and page faults, reported as ``seconds_cold``), then the best of ``repeats``
    calls (``seconds`` and its ``seconds_by_step``; ``cpu_seconds``: process CPU of that call,
    all threads). Before 3 Dec 2026 ``seconds`` was the one cold call (~0.15-0.2 s more per
    100k points). The real dev shapes are measured once each (their purity is the point).

    Returns:
        ``{"stage": "superpoints", "points", "source", "seconds", "cpu_seconds", "seconds_cold",
        "repeats", "seconds_by_step", "n_superpoints", "n_components", "energy", "purity",
        "instance_purity", "load_average_1min"}`` and, when the real dev shapes are reachable and
        ``points`` is None, ``"real_dev"``.
    """
    del device  # numpy/scipy on the CPU only
    from partlift.data import synthetic
    from partlift.geometry import normalize

    n = DEFAULT_POINTS if points is None else int(points)
    if n < 1 or repeats < 1:
        raise InputError(f"speed superpoints: expected points >= 1 and repeats >= 1, got {n} and {repeats}")
    shape = normalize(synthetic.generate(_CATEGORY, seed=_SEED, n_points=n)).replace(normals=None)
    result: dict[str, Any] = {"stage": "superpoints", "source": f"synthetic:{_CATEGORY}/seed{_SEED}"}
    cold = measure_shape(shape)
    best: dict[str, Any] | None = None
    best_cpu = 0.0
    for _ in range(repeats):
        c0 = time.process_time()
        row = measure_shape(shape)
        cpu = time.process_time() - c0
        if best is None or row["seconds"] < best["seconds"]:
            best, best_cpu = row, cpu
    result.update(best)
    result.pop("shape")
    result.update(cpu_seconds=round(best_cpu, 3), seconds_cold=cold["seconds"], repeats=repeats,
                  load_average_1min=round(os.getloadavg()[0], 2))
    if points is None:
        root = real_dev_root()
        if root is not None:
            result["real_dev"] = _real_dev(root, None)
    return result
