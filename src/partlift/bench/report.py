"""Aggregate per-shape records into results.json, details.json, report.md and plots.

``results.json`` has a fixed schema (values in percent, 0-100, as in the papers)::

    {"dataset": str, "teacher": str,
     "methods": {NAME: {"miou": float|null, "map50": float|null,
                        "per_category": {CAT: {"miou": float|null, "map50": float|null, "n_shapes": int}},
                        "seconds_per_shape": float|null}},
     "settings": {...}, "versions": {...}}

* ``miou``/``map50`` of a method = unweighted mean over its evaluated categories (METHODS
  §1.6.1 "Overall"); ``map50`` is null for ShapeNetPart (no instances) and where no category has
  a ground-truth instance. A category where a method was skipped is absent from its
  ``per_category`` (the reason is in details.json and report.md).
* Category values are recomputed from the stored label arrays with :mod:`partlift.metrics`
  (METHODS §1.6.1-1.6.3), in shape-id order, so they do not depend on the order in which shapes
  were evaluated (serial or Ray).
* A shape on which a method failed scores as an empty prediction (its parts IoU 0, its instances
  missed) and is counted under ``errors``; a shape that could not be loaded is left out and
  counted under ``unscored``.
* ``seconds_per_shape``: mean over the scored shapes of the preparation and teacher's wall seconds
  (the teacher runs beside the superpoints) + method seconds (the only field that changes between
  identical runs). Per-category fitting / pre-alignment time
  is in details.json.

``details.json`` adds the 17/28 group means, per-part IoU and AP, counts (errors, shapes on which
the teacher found nothing, missing records) and the skip reasons.
"""

from __future__ import annotations

import logging
import math
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

from partlift.bench.store import (
    atomic_save_figure,
    atomic_write_json,
    atomic_write_text,
    read_arrays,
    read_record,
)
from partlift.errors import InputError

__all__ = ["aggregate", "write_report", "versions", "plot_categories", "render_markdown"]

logger = logging.getLogger(__name__)

_PCT = 100.0


def versions() -> dict[str, str]:
    """Versions of partlift, Python and the numerical libraries."""
    import scipy
    import torch

    from partlift import __version__

    return {"partlift": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "torch": torch.__version__, "platform": sys.platform}


def _pct(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(_PCT * float(x), 4)


def _category_scores(plan: Any, method: str, cat: str) -> dict[str, Any]:
    """Metrics of ``method`` on the test shapes of ``cat`` from the stored records."""
    from partlift.metrics import InstanceAP, SemanticIoU, ShapeNetPartIoU

    out_dir = Path(plan.settings.out)
    job = plan.job(method, cat)
    names = plan.test.part_names(cat)
    snp = plan.protocol == "shapenetpart"
    sem = ShapeNetPartIoU(names) if snp else SemanticIoU(names)
    ap = InstanceAP(names)
    info: dict[str, Any] = {"n_shapes": 0, "errors": 0, "empty_teacher": 0, "missing": 0, "unscored": 0,
                            "seconds": [], "error_examples": []}
    any_instance = False
    for sid in plan.test.ids(cat):
        rec = read_record(out_dir, method, sid, job.fingerprint)
        if rec is None:
            info["missing"] += 1
            continue
        arrays = read_arrays(out_dir, method, sid) if rec.get("has_arrays") else None
        if rec.get("status") != "ok":
            info["errors"] += 1
            if len(info["error_examples"]) < 5:
                info["error_examples"].append({"shape": sid, "error": rec.get("error")})
        if rec.get("n_predictions") == 0:
            info["empty_teacher"] += 1
        if arrays is None:
            info["unscored"] += 1
            continue
        ps, pi, gs, gi = (arrays[k].astype(np.int64) for k in ("pred_semantic", "pred_instance", "gt_semantic", "gt_instance"))
        sem.add(ps, gs, name=sid)
        if not snp:
            ap.add(ps, pi, gs, gi)
            any_instance = any_instance or bool((gi >= 0).any())
        info["n_shapes"] += 1
        info["seconds"].append(float(rec.get("seconds", {}).get("total", math.nan)))
    info["miou"] = info["map50"] = None
    info["per_part_iou"], info["per_part_ap"] = {}, {}
    if info["n_shapes"]:
        try:
            info["miou"] = sem.category_miou()
            info["per_part_iou"] = {p: _pct(v) for p, v in sem.per_part().items()}
        except InputError as exc:
            logger.info("%s %s: no mIoU (%s)", method, cat, exc)
        if not snp and any_instance:
            try:
                info["map50"] = ap.category_map()
                info["per_part_ap"] = {p: _pct(v) for p, v in ap.per_part().items()}
            except InputError as exc:
                logger.info("%s %s: no mAP50 (%s)", method, cat, exc)
    return info


def _mean(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _groups(per_cat: dict[str, float | None]) -> dict[str, float]:
    """17/28/all means (percent) over the PartNet-E categories present (METHODS §1.5.1)."""
    from partlift.categories import partnete_meta
    from partlift.metrics import group_means

    known = set(partnete_meta())
    vals = {c: v for c, v in per_cat.items() if v is not None and c in known}
    if not vals:
        return {}
    return {k: round(v, 4) for k, v in group_means(vals).items()}


def aggregate(plan: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results, details) of a planned run from the records in its folder."""
    settings = plan.settings
    results: dict[str, Any] = {"dataset": settings.dataset, "teacher": settings.teacher, "methods": {},
                               "settings": settings.to_dict(), "versions": versions()}
    details: dict[str, Any] = {"protocol": plan.protocol, "methods": {}}
    results["settings"].pop("out", None)
    results["settings"].pop("device", None)
    for method in settings.methods:
        per_category: dict[str, Any] = {}
        det: dict[str, Any] = {"skipped": dict(plan.skipped.get(method, {})),
                               "preparation_seconds": dict(plan.preparation.get(method, {})),
                               "per_category": {}}
        seconds: list[float] = []
        for cat in plan.test.categories():
            if plan.job(method, cat) is None:
                continue
            info = _category_scores(plan, method, cat)
            per_category[cat] = {"miou": _pct(info["miou"]), "map50": _pct(info["map50"]), "n_shapes": info["n_shapes"]}
            seconds.extend(s for s in info["seconds"] if math.isfinite(s))
            det["per_category"][cat] = {k: info[k] for k in ("n_shapes", "errors", "empty_teacher", "missing",
                                                             "unscored", "per_part_iou", "per_part_ap",
                                                             "error_examples")}
        miou = _mean([v["miou"] for v in per_category.values()])
        map50 = _mean([v["map50"] for v in per_category.values()])
        results["methods"][method] = {
            "miou": None if miou is None else round(miou, 4),
            "map50": None if map50 is None else round(map50, 4),
            "per_category": per_category,
            "seconds_per_shape": None if not seconds else round(float(np.mean(seconds)), 4),
        }
        if plan.protocol == "partnete":
            det["groups_miou"] = _groups({c: v["miou"] for c, v in per_category.items()})
            det["groups_map50"] = _groups({c: v["map50"] for c, v in per_category.items()})
        for key in ("errors", "empty_teacher", "missing", "unscored"):
            det[key] = sum(v[key] for v in det["per_category"].values())
        details["methods"][method] = det
    return results, details


# ---------------------------------------------------------------------------------- plots


def plot_categories(path: str | Path, results: dict[str, Any], metric: str = "miou") -> Path | None:
    """Grouped bars: per category, one bar per method (``metric`` in percent). None if nothing to plot."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    methods = [m for m, v in results["methods"].items() if v["per_category"]]
    cats = sorted({c for m in methods for c in results["methods"][m]["per_category"]})
    if not methods or not cats:
        return None
    if all(results["methods"][m]["per_category"].get(c, {}).get(metric) is None for m in methods for c in cats):
        return None
    width = 0.8 / len(methods)
    fig = Figure(figsize=(max(6.0, 0.55 * len(cats) * max(1, len(methods)) ** 0.5 + 2), 3.8), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(cats))
    for i, m in enumerate(methods):
        pc = results["methods"][m]["per_category"]
        vals = [np.nan if pc.get(c, {}).get(metric) is None else pc[c][metric] for c in cats]
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, vals, width, label=m)
    ax.set_xticks(x)
    ax.set_xticklabels(cats, rotation=45 if len(cats) > 4 else 0, ha="right" if len(cats) > 4 else "center")
    ax.set_ylabel(f"{'mIoU' if metric == 'miou' else 'mAP50'} (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{results['dataset']} — teacher {results['teacher']}")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return atomic_save_figure(path, fig)


# ---------------------------------------------------------------------------------- markdown


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def render_markdown(results: dict[str, Any], details: dict[str, Any], plots: list[str]) -> str:
    """report.md: overall table, per-category tables, skips, errors, plots."""
    s = results["settings"]
    methods = list(results["methods"])
    lines = [f"# partlift bench — {results['dataset']}", ""]
    src = s.get("root") or f"generated ({s.get('count') or 3} per category, {s.get('points')} points)"
    lines += [f"- data: {src}" + (f", split {s['split']}" if s.get("split") else ""),
              f"- teacher: `{results['teacher']}`; render preset `{s.get('preset')}`; seed {s.get('seed')}",
              f"- few-shot: `{s.get('shots')}`; collection: `{s.get('collection')}`",
              f"- metric protocol: {details['protocol']} (METHODS §1.6); values in %", ""]
    partnete = details["protocol"] == "partnete"
    cat_sets = [set(results["methods"][m]["per_category"]) for m in methods]
    common = sorted(set.intersection(*cat_sets)) if cat_sets else []
    differ = len({frozenset(c) for c in cat_sets}) > 1
    head = "| method | mIoU | mAP50 |" + (" mIoU 17 | mIoU 28 |" if partnete else "") + \
        (f" mIoU common ({len(common)}) | mAP50 common |" if differ else "") + \
        " shapes | errors | teacher found nothing | s/shape | preparation s |"
    lines += ["## Overall", "", head, "|" + "---|" * (head.count("|") - 1)]
    for m in methods:
        r, d = results["methods"][m], details["methods"][m]
        n = sum(v["n_shapes"] for v in r["per_category"].values())
        row = f"| {m} | {_f(r['miou'])} | {_f(r['map50'])} |"
        if partnete:
            g = d.get("groups_miou", {})
            row += f" {_f(g.get('17'))} | {_f(g.get('28'))} |"
        if differ:
            pc = r["per_category"]
            row += f" {_f(_mean([pc[c]['miou'] for c in common]))} | {_f(_mean([pc[c]['map50'] for c in common]))} |"
        prep = sum(d["preparation_seconds"].values())
        sps = r["seconds_per_shape"]
        row += f" {n} | {d['errors']} | {d['empty_teacher']} | {'–' if sps is None else f'{sps:.2f}'} | {prep:.1f} |"
        lines.append(row)
    lines.append("")
    if differ:
        lines += [(f"Methods ran on different categories (skips below); the *common* columns average "
                  f"the {len(common)} categories every method ran on: {', '.join(common) or 'none'}."), ""]
    cats = sorted({c for m in methods for c in results["methods"][m]["per_category"]} |
                  {c for m in methods for c in details["methods"][m]["skipped"]})
    for metric, title in (("miou", "mIoU"), ("map50", "mAP50")):
        if metric == "map50" and all(results["methods"][m]["map50"] is None for m in methods):
            continue
        lines += [f"## Per category — {title} (%)", "", "| category | " + " | ".join(methods) + " | shapes |",
                  "|---|" + "---|" * (len(methods) + 1)]
        for c in cats:
            cells, n = [], 0
            for m in methods:
                pc = results["methods"][m]["per_category"].get(c)
                cells.append("skipped" if pc is None else _f(pc[metric]))
                n = max(n, 0 if pc is None else pc["n_shapes"])
            lines.append(f"| {c} | " + " | ".join(cells) + f" | {n} |")
        lines.append("")
    skips = [(m, c, r) for m in methods for c, r in sorted(details["methods"][m]["skipped"].items())]
    if skips:
        lines += ["## Skipped", "", "| method | category | reason |", "|---|---|---|"]
        lines += [f"| {m} | {c} | {r.replace('|', '/')} |" for m, c, r in skips]
        lines.append("")
    errs = [(m, c, e) for m in methods for c, v in details["methods"][m]["per_category"].items()
            for e in v["error_examples"]]
    if errs:
        lines += ["## Errors (first per category)", "", "| method | shape | error |", "|---|---|---|"]
        lines += [f"| {m} | {e['shape']} | {str(e['error']).replace('|', '/')} |" for m, _, e in errs]
        lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    return "\n".join(lines)


def write_report(plan: Any) -> dict[str, Any]:
    """Aggregate a run and write results.json, details.json, plots/ and report.md; return results."""
    out = Path(plan.settings.out)
    results, details = aggregate(plan)
    atomic_write_json(out / "results.json", results)
    atomic_write_json(out / "details.json", details)
    plots = []
    for metric in ("miou", "map50"):
        try:
            p = plot_categories(out / "plots" / f"per_category_{metric}.png", results, metric)
        except Exception as exc:  # a plot must never lose the numbers
            logger.warning("could not draw the %s plot: %s", metric, exc)
            p = None
        if p is not None:
            plots.append(str(p.relative_to(out)))
    atomic_write_text(out / "report.md", render_markdown(results, details, plots))
    return results
