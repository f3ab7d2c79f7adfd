"""The PartSTAD ablation on generated shapes (``docs/partstad.md``)::

    python benchmarks/partstad_ablation.py --categories Chair Table StorageFurniture Lamp Kettle \\
        --shots 8 --val 8 --test 10 --teacher simulated:fewshot --out out/stad_ablation

Per category: ``shots`` training, ``val`` validation and ``test`` test shapes from the synthetic
generator's disjoint "shots" / "val" / "test" splits, each prepared once (render, superpoints,
teacher predictions). Rows (the paper's ablation, METHODS §3.9):

* ``partslip`` — PartSLIP voting with boxes (§2.3–2.5);
* ``+masks`` — the same vote rule with the masks as regions (w = 1, no softmax, threshold 0.5,
  small-part priority), i.e. "+SAM, no weight prediction";
* ``+weights`` — PartSTAD with boxes: trained weight net and null score (§3.3–3.7);
* ``full`` — PartSTAD with masks and trained weights;
* ``masks+null`` (extra) — masks, constant weights, only the null score trained.

Instances for every row: PartSLIP's grouping (§2.5) on the row's semantic labels. Metrics:
PartNet-E category mIoU and mAP50 (§1.6) on the test shapes. Writes ``ablation.json`` and
``ablation.md`` to ``--out`` and prints the table.

An experiment script, not part of the library (it imports ``partlift``; run it from a checkout
with partlift installed, or with ``PYTHONPATH=src``).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from partlift import atomic
from partlift.stad.config import StadConfig

__all__ = ["ROWS", "run_ablation", "format_table", "main"]

logger = logging.getLogger(__name__)

ROWS: tuple[str, ...] = ("partslip", "+masks", "+weights", "full", "masks+null")


def _prepare(seg: Any, shapes: Sequence[Any], parts: tuple[str, ...]) -> list[tuple[Any, Any]]:
    out = []
    for shape in shapes:
        prepared = seg.prepare(shape)
        out.append((prepared, seg.predictions(shape, parts)))
    return out


def _tensors(seg: Any, items: Sequence[tuple[Any, Any]], config: StadConfig) -> list[Any]:
    from partlift.stad.data import from_prepared

    return [from_prepared(prep, preds, config, vote_config=seg.vote_config, device=seg.device, with_gt=True) for prep, preds in items]


def _usable(sts: list[Any]) -> list[Any]:
    return [st for st in sts if st.n_valid > 0 and st.n_predictions > 0 and float(st.gt_total.sum()) > 0]


def run_category(
    category: str,
    *,
    shots: int,
    val: int,
    test: int,
    teacher: str,
    preset: str = "fast",
    n_points: int = 10_000,
    seed: int = 0,
    config: StadConfig | None = None,
    rows: Sequence[str] = ROWS,
) -> dict[str, Any]:
    """Every row's test mIoU and mAP50 for one category, plus timings."""
    from partlift.lifting.instances import group_instances
    from partlift.lifting.voting import label_superpoints, partslip_labels
    from partlift.metrics import InstanceAP, SemanticIoU
    from partlift.pipeline import Segmenter
    from partlift.stad.data import _labels_for
    from partlift.stad.fit import fit_category
    from partlift.stad.fit_weights import shape_source
    from partlift.stad.method import stad_labels
    from partlift.stad.voting import hard_votes

    config = config or StadConfig(seed=seed)
    options = {"seed": seed} if teacher.startswith("simulated") else {}
    seg = Segmenter(teacher=teacher, preset=preset, seed=seed, teacher_options=options, cache_size=1)
    t0 = time.perf_counter()
    _, parts, gen_train = shape_source(f"synthetic:{shots}", category, "shots", n_points=n_points, seed=seed)
    _, _, gen_val = shape_source(f"synthetic:{val}", category, "val", n_points=n_points, seed=seed)
    _, _, gen_test = shape_source(f"synthetic:{test}", category, "test", n_points=n_points, seed=seed)
    items = {
        "train": _prepare(seg, list(gen_train()), parts),
        "val": _prepare(seg, list(gen_val()), parts),
        "test": _prepare(seg, list(gen_test()), parts),
    }
    prep_s = time.perf_counter() - t0
    feature_dim = items["train"][0][1].feature_dim
    meta = {"category": category, "part_names": list(parts), "teacher": seg.teacher.name, "feature_dim": feature_dim}
    variants = {
        "+weights": config.replace(masks=False),
        "full": config.replace(masks=True),
        "masks+null": config.replace(masks=True, weights=False),
    }
    models: dict[str, Any] = {}
    fit_s: dict[str, float] = {}
    for row, cfg in variants.items():
        if row not in rows:
            continue
        train = _usable(_tensors(seg, items["train"], cfg))
        val_st = _usable(_tensors(seg, items["val"], cfg))
        res = fit_category(train, val_st, cfg, meta=meta, vote_config=seg.vote_config)
        models[row] = (res.model, cfg)
        fit_s[row] = round(res.seconds, 2)
        logger.info("%s %s: best epoch %d, val mIoU %.3f, %.1fs", category, row, res.best_epoch,
                    res.best_val_miou, res.seconds)

    sem = {r: SemanticIoU(parts) for r in rows}
    ins = {r: InstanceAP(parts) for r in rows}
    box_mask_cfg = config.replace(masks=True)
    for prep, preds in items["test"]:
        shape = prep.shape
        gt = _labels_for(shape.semantic, tuple(shape.part_names), parts, shape.name)
        gt_ins = shape.instance if shape.instance is not None else np.full(shape.n_points, -1, np.int64)
        sp = prep.superpoints
        for row in rows:
            if row == "partslip":
                r = partslip_labels(prep.views, preds, sp, shape.xyz, parts, seg.vote_config)
                semantic, instance = r.semantic, r.instance
            else:
                if len(preds) == 0:
                    sp_labels = np.full(int(sp.max()) + 1, -1, np.int64)
                elif row == "+masks":
                    from partlift.stad.data import from_prepared

                    st = from_prepared(prep, preds, box_mask_cfg, vote_config=seg.vote_config, device=seg.device,
                                       with_gt=False)
                    sp_labels = np.full(st.n_superpoints, -1, np.int64)
                    if st.n_valid:
                        votes = hard_votes(st).double().numpy()
                        sp_labels[st.superpoint_ids] = label_superpoints(votes, parts, seg.vote_config,
                                                                         relative_size=st.relative_size)
                else:
                    from partlift.stad.data import from_prepared

                    model, cfg = models[row]
                    st = from_prepared(prep, preds, cfg, vote_config=seg.vote_config, device=seg.device, with_gt=False)
                    sp_labels, _ = stad_labels(model, st, seg.vote_config)
                semantic = sp_labels[sp]
                instance = group_instances(prep.views, preds, sp, sp_labels, shape.xyz, seg.vote_config)
            sem[row].add(semantic, gt, name=shape.name)
            ins[row].add(semantic, instance, gt, gt_ins)
    out = {
        "category": category,
        "parts": list(parts),
        "teacher": seg.teacher.name,
        "n_shapes": {k: len(v) for k, v in items.items()},
        "miou": {r: sem[r].category_miou() for r in rows},
        "map50": {r: ins[r].category_map() for r in rows},
        "prepare_seconds": round(prep_s, 1),
        "fit_seconds": fit_s,
    }
    logger.info("%s: %s", category, out["miou"])
    return out


def format_table(results: Sequence[dict[str, Any]], metric: str = "miou", rows: Sequence[str] = ROWS) -> str:
    """A markdown table: one row per configuration, one column per category, plus the mean."""
    cats = [r["category"] for r in results]
    head = "| configuration | " + " | ".join(cats) + " | mean |"
    sep = "|---|" + "---:|" * (len(cats) + 1)
    lines = [head, sep]
    for row in rows:
        vals = [100 * r[metric][row] for r in results]
        lines.append(f"| {row} | " + " | ".join(f"{v:.1f}" for v in vals) + f" | **{np.mean(vals):.1f}** |")
    return "\n".join(lines)


def run_ablation(
    categories: Sequence[str],
    *,
    shots: int = 8,
    val: int = 8,
    test: int = 10,
    teacher: str = "simulated:fewshot",
    preset: str = "fast",
    n_points: int = 10_000,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    epochs: int | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_category` for each category; writes ``ablation.json`` / ``ablation.md`` to ``out``."""
    config = StadConfig(seed=seed) if epochs is None else StadConfig(seed=seed, epochs=epochs)
    results = []
    t0 = time.perf_counter()
    for cat in categories:
        results.append(run_category(cat, shots=shots, val=val, test=test, teacher=teacher, preset=preset,
                                    n_points=n_points, seed=seed, config=config))
        if out is not None:
            _write(Path(out), results, dict(categories=list(categories), shots=shots, val=val, test=test,
                                            teacher=teacher, preset=preset, points=n_points, seed=seed,
                                            epochs=config.epochs, seconds=round(time.perf_counter() - t0, 1)))
    return results


def _write(out: Path, results: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    atomic.write_json(out / "ablation.json", {"settings": settings, "results": results})
    md = ("### mIoU (%)\n\n" + format_table(results, "miou") + "\n\n### mAP50 (%)\n\n"
          + format_table(results, "map50") + "\n")
    atomic.write_text(out / "ablation.md", md)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/partstad_ablation.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--categories", nargs="+", default=["Chair", "Table", "StorageFurniture", "Lamp", "Kettle"])
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--val", type=int, default=8)
    p.add_argument("--test", type=int, default=10)
    p.add_argument("--teacher", default="simulated:fewshot")
    p.add_argument("--preset", default="fast")
    p.add_argument("--points", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--out", default="out/stad_ablation")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    results = run_ablation(args.categories, shots=args.shots, val=args.val, test=args.test, teacher=args.teacher,
                           preset=args.preset, n_points=args.points, seed=args.seed, out=args.out,
                           epochs=args.epochs)
    report = (f"mIoU (%)\n{format_table(results, 'miou')}\n\nmAP50 (%)\n{format_table(results, 'map50')}\n\n"
              f"{time.perf_counter() - t0:.0f}s; wrote {args.out}/ablation.json and ablation.md")
    print(report)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
