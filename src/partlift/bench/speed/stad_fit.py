"""``partlift speed stad-fit``: time to fit PartSTAD for one category (8 shapes, 400 epochs).

Eight generated Chair shapes (training) and eight more (validation) are prepared with the
``simulated:fewshot`` teacher and the ``fast`` render preset, then the weight net and null score
are trained for 400 epochs with per-epoch validation (METHODS §3.6). Reported: ``seconds`` (the
training, the target of DESIGN §4), ``prepare_seconds`` (render + superpoints + teacher, once per
shape) and ``total_seconds``.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["speed_stad_fit"]

CATEGORY = "Chair"
SHOTS = 8
VAL = 8
DEFAULT_POINTS = 10_000


def speed_stad_fit(points: int | None, device: str) -> dict[str, Any]:
    """Figures of one category fit; ``points`` per generated shape (default 10,000)."""
    from partlift.pipeline import Segmenter
    from partlift.stad.config import StadConfig
    from partlift.stad.fit import fit_category, prepare_shapes
    from partlift.stad.fit_weights import shape_source

    n_points = int(points or DEFAULT_POINTS)
    config = StadConfig()
    seg = Segmenter(teacher="simulated:fewshot", preset="fast", device=device, seed=0,
                    teacher_options={"seed": 0}, cache_size=1)
    t0 = time.perf_counter()
    _, parts, gen_train = shape_source(f"synthetic:{SHOTS}", CATEGORY, "shots", n_points=n_points)
    _, _, gen_val = shape_source(f"synthetic:{VAL}", CATEGORY, "val", n_points=n_points)
    train = prepare_shapes(seg, gen_train(), parts, config)
    val = prepare_shapes(seg, gen_val(), parts, config, role="validation")
    prep = time.perf_counter() - t0
    meta = {"category": CATEGORY, "part_names": list(parts), "teacher": seg.teacher.name,
            "feature_dim": int(train[0].inputs.shape[1]) - config.encoding_dim}
    t1 = time.perf_counter()
    res = fit_category(train, val, config, meta=meta, vote_config=seg.vote_config, device=device)
    fit = time.perf_counter() - t1
    return {
        "stage": "stad-fit",
        "seconds": round(fit, 3),
        "prepare_seconds": round(prep, 3),
        "total_seconds": round(prep + fit, 3),
        "epochs": config.epochs,
        "train_shapes": len(train),
        "val_shapes": len(val),
        "points": n_points,
        "groups_per_shape": round(sum(st.n_groups for st in train) / len(train), 1),
        "best_epoch": res.best_epoch,
        "best_val_miou": round(res.best_val_miou, 4),
    }
