"""The experiments behind the PartDistill tables of docs/partdistill.md.

    python benchmarks/partdistill_evidence.py methods      # voting vs forward-only vs forward+backward (TTA)
    python benchmarks/partdistill_evidence.py regimes      # TTA vs pre-alignment
    python benchmarks/partdistill_evidence.py teachers     # box (B-VLM) vs pixel (P-VLM) teacher
    python benchmarks/partdistill_evidence.py collections  # pre-alignment on real-like / generated / both
    python benchmarks/partdistill_evidence.py real         # the real PartNet-Mobility dev shapes
    python benchmarks/partdistill_evidence.py backbones    # the student backbone choice (TTA)
    python benchmarks/partdistill_evidence.py backward     # does backward re-scoring rank predictions better?
    python benchmarks/partdistill_evidence.py bootstrap BASE_DIR:METHOD ROW_DIR:METHOD ...
                                                           # paired-bootstrap 95% intervals over `partlift bench` folders

An experiment script, not part of the library (it imports ``partlift``; run it from a checkout
with partlift installed, or with ``PYTHONPATH=src``).

Every experiment runs on generated shapes (:mod:`partlift.data.synthetic`) of the categories
given (default five), test shapes from the generator's ``test`` split (seed 0), under the
``simulated:zeroshot`` teacher with the ``fast`` render preset, and scores PartNet-E semantic
mIoU (METHODS §1.6.1: per part over the shapes whose ground truth has it, then over parts;
:mod:`partlift.metrics`). Model selection never looks at labels: every student is the one after
its last epoch. The ``real`` experiment reads the PartNet-E-layout dev shapes from ``--real-root``
(default: ``../shared/data/partnete_real_dev`` beside this checkout, or ``$PARTLIFT_REAL_DEV``).

Collections (``collections``): PartDistill's "train set" is the category's own unlabelled
shapes and its "generated data" come from a 3D generative model (§4.8). Neither exists here, so:

* **real-like** = generated shapes from a seed split disjoint from the test split
  (``synthetic:CAT:N:collection-real``), i.e. the test distribution itself, standing in for the
  category's train set;
* **generated** = generated shapes from another disjoint split, deliberately shifted the way a
  generative model's samples differ from real data: each shape is stretched anisotropically
  (every axis by U[1/1.35, 1.35]), its colours are hue-rotated and desaturated
  (:func:`shift_shape`). This is a stand-in for a generator's distribution shift, not a
  generative model;
* **both** = the two concatenated.

Caches (knowledge, TTA labels, pre-aligned students) live under ``--cache`` so that experiments
sharing a row (e.g. TTA forward+backward with the box teacher) compute it once. Results are
written to ``--out`` as JSON and a Markdown table.

The ``s/shape`` column is the seconds of the method itself per test shape — voting, TTA
(knowledge + alignment + labelling), or the pre-aligned student's forward pass — without the
render, superpoints and teacher that every row shares. It is measured when a row is computed and
stored beside its cached labels, so a table built from the cache shows the measured time, not
the cache read. Pre-alignment time is reported apart (``pre_align_seconds``, per collection kind,
mean over categories, likewise kept with the cached student).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from partlift import atomic
from partlift.config import json_ready
from partlift.distill.config import DistillConfig
from partlift.types import Shape

__all__ = ["EvidenceSettings", "Evidence", "shift_shape", "prediction_quality", "backward_diagnostic", "EXPERIMENTS",
           "bench_shape_miou", "paired_bootstrap", "bootstrap_rows", "main"]

logger = logging.getLogger(__name__)

DEFAULT_CATEGORIES: tuple[str, ...] = ("Chair", "Table", "StorageFurniture", "Kettle", "Lamp")
EXPERIMENTS: tuple[str, ...] = ("methods", "regimes", "teachers", "collections", "real", "backbones", "backward")

SHIFT_STRETCH = 1.35
"""Largest per-axis stretch (and 1/shrink) of a "generated" shape (:func:`shift_shape`)."""
SHIFT_HUE = 0.25
"""Largest hue rotation (fraction of the colour wheel) of a "generated" shape's colours."""


@dataclass(frozen=True)
class EvidenceSettings:
    """What every experiment shares.

    Attributes:
        categories: generated categories evaluated.
        test_count: test shapes per category (split ``test``, base seed 0).
        test_points: points per test shape.
        collection_count: shapes per pre-alignment collection (per kind; "both" has twice as many).
        collection_points: points per collection shape.
        pre_items: training budget of a pre-alignment, in shape-items (epochs = round(pre_items /
            collection size), at least 1): every collection gets the same compute, so "both" is
            compared with "real-like" at equal cost (more diverse data, not more steps).
        preset: render preset for the teacher.
        teacher: teacher name (profile), used in box mode or pixel mode.
        seed: teacher and student seed.
        config: the distillation settings (TTA and pre-alignment).
        real_root: the PartNet-E-layout root of the ``real`` experiment (None:
            :func:`default_real_root`).
    """

    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    test_count: int = 3
    test_points: int = 10_000
    collection_count: int = 20
    collection_points: int = 10_000
    pre_items: int = 2400
    preset: str = "fast"
    teacher: str = "simulated:zeroshot"
    seed: int = 0
    config: DistillConfig = field(default_factory=DistillConfig)
    real_root: str | None = None


def default_real_root() -> Path:
    """``$PARTLIFT_REAL_DEV``, else ``<checkout>/../shared/data/partnete_real_dev``.

    The checkout is the folder above ``benchmarks/`` (this file's), so the default does not
    depend on the working directory.
    """
    env = os.environ.get("PARTLIFT_REAL_DEV")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "partnete_real_dev"


def shift_shape(shape: Shape, seed: int) -> Shape:
    """A "generated" variant of ``shape``: stretched per axis and recoloured (see the module doc).

    Labels, instances and point count are unchanged; the mesh is dropped (not needed here).
    """
    import colorsys

    rng = np.random.default_rng([seed, 7919])
    stretch = np.exp(rng.uniform(-np.log(SHIFT_STRETCH), np.log(SHIFT_STRETCH), size=3))
    xyz = (shape.xyz * stretch).astype(np.float32)
    rgb = shape.rgb
    if rgb is not None:
        dh = rng.uniform(-SHIFT_HUE, SHIFT_HUE)
        hsv = np.array([colorsys.rgb_to_hsv(*c) for c in rgb.astype(np.float64)])
        hsv[:, 0] = (hsv[:, 0] + dh) % 1.0
        hsv[:, 1] *= 0.6
        rgb = np.clip(np.array([colorsys.hsv_to_rgb(*c) for c in hsv]), 0, 1).astype(np.float32)
    normals = shape.normals
    if normals is not None:
        n = normals / stretch
        normals = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    return shape.replace(xyz=xyz, rgb=rgb, normals=normals, mesh=None, face_index=None, face_semantic=None,
                         face_instance=None, name=shape.name + "~gen")


CACHE_VERSION = 5
"""Bumped whenever the code behind a cached row changes (it is part of every cache key)."""


def _hash(obj: Any) -> str:
    payload = {"v": CACHE_VERSION, "obj": obj}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


RowFn = Callable[[Shape], "np.ndarray | tuple[np.ndarray, float]"]
"""A table row: a test shape -> (N,) int64 labels, or (labels, seconds of the method)."""


class Evidence:
    """Runs rows (methods) over the test shapes with caching; see the module doc."""

    def __init__(self, settings: EvidenceSettings, cache_dir: str | os.PathLike, device: str = "cpu",
                 progress: bool = True) -> None:
        self.s = settings
        self.cache = Path(cache_dir)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.device = device
        self.progress = progress
        self._segmenters: dict[str, Any] = {}
        self._timings: dict[str, list[float]] = {}

    # ---------------------------------------------------------------- shapes and teachers
    def test_shapes(self, category: str) -> list[Shape]:
        from partlift.data.synthetic import generate_collection

        return generate_collection(category, self.s.test_count, 0, n_points=self.s.test_points, split="test")

    def segmenter(self, mode: str) -> Any:
        from partlift.pipeline import Segmenter
        from partlift.teachers.registry import build_teacher

        if mode not in self._segmenters:
            teacher = build_teacher(self.s.teacher, seed=self.s.seed, mode=mode)
            self._segmenters[mode] = Segmenter(teacher=teacher, preset=self.s.preset, device=self.device,
                                               seed=self.s.seed, cache_size=2)
        return self._segmenters[mode]

    # ---------------------------------------------------------------- rows
    def voting(self, mode: str = "box") -> RowFn:
        def run(shape: Shape) -> tuple[np.ndarray, float]:
            labels = self.segmenter(mode).segment(shape, shape.part_names, method="partslip")
            return labels.semantic, float(labels.meta["timings"]["method"])

        return run

    def tta(self, config: DistillConfig, mode: str = "box") -> RowFn:
        from partlift.distill.method import PartdistillTTARun, run_partdistill_tta

        cfg_key = config.to_dict()
        for k in ("epochs", "batch_size"):  # pre-alignment only
            cfg_key.pop(k)
        if not config.backward:  # the backward settings do not matter then
            cfg_key.update({k: getattr(DistillConfig(), k) for k in ("rescore", "rescore_null", "rescore_class_norm",
                                                                    "backward_latest")})
        key = _hash({"cfg": cfg_key, "mode": mode, "teacher": self.s.teacher, "preset": self.s.preset,
                     "seed": self.s.seed})

        def run(shape: Shape) -> tuple[np.ndarray, float]:
            path = self.cache / "tta" / f"{shape.name.replace('/', '_')}-{shape.n_points}-{key}.npy"
            side = path.with_suffix(".json")
            if path.is_file() and side.is_file():
                return np.load(path), float(json.loads(side.read_text())["seconds"])
            seg = self.segmenter(mode)
            prepared = seg.prepare(shape)
            preds = seg.predictions(shape, shape.part_names)
            t = time.perf_counter()
            ctx = seg.context()
            run_config = PartdistillTTARun.from_options({"distill_config": config}, ctx)
            labels = run_partdistill_tta(prepared, preds, run_config, ctx).semantic
            secs = time.perf_counter() - t
            _save_npy(path, labels)
            _save_json(side, {"seconds": secs, "load_average_1min": round(os.getloadavg()[0], 2)})
            return labels, secs

        return run

    def pre(self, category: str, shapes: Callable[[], Iterable[Shape]], label: str, config: DistillConfig,
            mode: str = "box") -> RowFn:
        """A row labelling test shapes with a student pre-aligned on ``shapes()`` (cached by ``label``)."""
        from partlift.distill.method import PartdistillRun, run_partdistill

        path = self._pre_student(category, shapes, label, config, mode)

        def run(shape: Shape) -> tuple[np.ndarray, float]:
            seg = self.segmenter(mode)
            prepared = seg.prepare(shape)
            preds = seg.predictions(shape, shape.part_names)
            t = time.perf_counter()
            labels = run_partdistill(prepared, preds, PartdistillRun(student=str(path)), seg.context()).semantic
            return labels, time.perf_counter() - t

        return run

    def _pre_student(self, category: str, shapes: Callable[[], Iterable[Shape]], label: str,
                     config: DistillConfig, mode: str) -> Path:
        from partlift.config import render_preset
        from partlift.data.synthetic import category_parts
        from partlift.distill.align import AlignPaths, align
        from partlift.distill.collection import shapes_knowledge
        from partlift.errors import InputError

        key = _hash({"cfg": config.to_dict(), "mode": mode, "teacher": self.s.teacher, "preset": self.s.preset,
                     "label": label, "n": self.s.collection_count, "pts": self.s.collection_points,
                     "items": self.s.pre_items})
        out = self.cache / "students" / f"{category}-{label}-{key}.safetensors"
        side = out.with_suffix(".json")
        if out.is_file() and side.is_file():
            self._timings.setdefault(_timing_key(label, config), []).append(
                float(json.loads(side.read_text())["align_seconds"]))
            return out
        names = category_parts(category)
        teacher = self.segmenter(mode).teacher
        t0 = time.perf_counter()
        know, skipped, _, seen = shapes_knowledge(shapes(), names, teacher, config, render=render_preset(self.s.preset),
                                                  device=self.device, cache_dir=self.cache / "knowledge")
        if not know:
            raise InputError(f"evidence: the teacher found nothing on the {seen} {category} collection shapes")
        config = config.replace(epochs=max(1, round(self.s.pre_items / len(know))))
        t1 = time.perf_counter()
        align(know, names, config, regime="pre", device=self.device, paths=AlignPaths.for_output(out),
              meta={"category": category, "teacher": teacher.name, "collection": label, "n_skipped": len(skipped)})
        t2 = time.perf_counter()
        logger.info("pre-aligned %s on %s (%d shapes, %d skipped): knowledge %.1fs, align %.1fs", category, label,
                    len(know), len(skipped), t1 - t0, t2 - t1)
        _save_json(side, {"align_seconds": t2 - t1, "knowledge_seconds": t1 - t0, "shapes": len(know),
                          "epochs": config.epochs, "load_average_1min": round(os.getloadavg()[0], 2)})
        self._timings.setdefault(_timing_key(label, config), []).append(t2 - t1)
        return out

    def collection(self, category: str, kind: str) -> Callable[[], Iterable[Shape]]:
        """Shapes of a collection kind: ``real-like``, ``generated`` or ``both``."""
        from partlift.data.synthetic import generate, shape_seed

        n, pts = self.s.collection_count, self.s.collection_points

        def real() -> Iterable[Shape]:
            for i in range(n):
                yield generate(category, shape_seed(0, category, i, "collection-real"), n_points=pts)

        def gen() -> Iterable[Shape]:
            for i in range(n):
                seed = shape_seed(0, category, i, "collection-generated")
                yield shift_shape(generate(category, seed, n_points=pts), seed)

        def both() -> Iterable[Shape]:
            yield from real()
            yield from gen()

        return {"real-like": real, "generated": gen, "both": both}[kind]

    # ---------------------------------------------------------------- evaluation
    def table(self, rows: dict[str, RowFn],
              shapes_by_category: dict[str, list[Shape]] | None = None) -> dict[str, Any]:
        """mIoU (%) per row and category, and the mean over categories; seconds of the method per
        shape (as the row reports it, see the module doc; else the call's wall time)."""
        from partlift.metrics import SemanticIoU

        shapes_by_category = shapes_by_category or {c: self.test_shapes(c) for c in self.s.categories}
        result: dict[str, Any] = {"rows": {}, "seconds_per_shape": {}}
        total = len(rows) * sum(len(v) for v in shapes_by_category.values())
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc="evidence", unit="run", file=sys.stderr)
        for row, fn in rows.items():
            per_cat: dict[str, float] = {}
            secs = []
            for cat, shapes in shapes_by_category.items():
                acc = SemanticIoU(shapes[0].part_names)
                for shape in shapes:
                    t = time.perf_counter()
                    out = fn(shape)
                    wall = time.perf_counter() - t
                    labels, sec = out if isinstance(out, tuple) else (out, wall)
                    acc.add(labels, shape.semantic, name=shape.name)
                    secs.append(sec)
                    if bar is not None:
                        bar.set_postfix(row=row[:24])
                        bar.update(1)
                per_cat[cat] = round(100 * acc.category_miou(), 1)
            per_cat["mean"] = round(float(np.mean([v for k, v in per_cat.items()])), 1)
            result["rows"][row] = per_cat
            result["seconds_per_shape"][row] = round(float(np.mean(secs)), 2)
        if bar is not None:
            bar.close()
        if self._timings:
            result["pre_align_seconds"] = {k: round(float(np.mean(v)), 1) for k, v in self._timings.items()}
        return result


def _timing_key(label: str, config: DistillConfig) -> str:
    return label if config.backward else f"{label}, forward only"


def _save_json(path: Path, obj: dict[str, Any]) -> None:
    atomic.write_json(path, obj, indent=None)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic.replacing(path, suffix=".npy") as tmp:
        np.save(tmp, arr)


def markdown(result: dict[str, Any]) -> str:
    """The result as a Markdown table (rows x categories + mean)."""
    rows = result["rows"]
    cols = list(next(iter(rows.values())).keys())
    lines = ["| row | " + " | ".join(cols) + " | s/shape |", "|---" * (len(cols) + 2) + "|"]
    for name, vals in rows.items():
        cells = [f"{vals[c]:.1f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {result['seconds_per_shape'][name]:.2f} |")
    if result.get("pre_align_seconds"):
        lines.append("")
        lines.append("Pre-alignment seconds per category (mean): " + ", ".join(
            f"{k} {v:.1f}" for k, v in result["pre_align_seconds"].items()))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- backward diagnostic


def prediction_quality(know: Any, visible: np.ndarray, pred_view: np.ndarray) -> dict[str, np.ndarray]:
    """Ground-truth quality of every teacher prediction of one shape, on its knowledge points.

    Args:
        know: :class:`~partlift.distill.knowledge.ShapeKnowledge` with ``semantic`` (the ground
            truth of its M knowledge points, -1 = no part).
        visible: (V, M) bool visibility of the knowledge points in each view.
        pred_view: (D,) int64 view of each *teacher* prediction; the D teacher predictions are the
            first D of ``know`` (null pseudo-predictions, if any, follow and are not scored).

    Returns:
        dict of (D,) float64 arrays: ``precision`` = fraction of the prediction's covered points
        whose ground truth is its class (what the ``agree`` re-scoring estimates with the student
        in place of the ground truth); ``iou`` = IoU of the covered points with the points of that
        part visible in the prediction's view; ``size`` = covered points. NaN where nothing is
        covered.
    """
    if know.semantic is None:
        raise ValueError(f"prediction_quality: {know.name!r} has no ground truth")
    d = int(pred_view.shape[0])
    gt = know.semantic
    keep = know.pair_pred < d
    pp, pd = know.pair_point[keep], know.pair_pred[keep]
    cls = know.pred_class[:d]
    hit = gt[pp] == cls[pd]
    size = np.bincount(pd, minlength=d).astype(np.float64)
    inter = np.bincount(pd, weights=hit.astype(np.float64), minlength=d)
    c = len(know.part_names)
    per_view = np.stack([(visible & (gt == j)[None, :]).sum(axis=1) for j in range(c)], axis=1)  # (V, C)
    gsize = per_view[pred_view, cls].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(size > 0, inter / size, np.nan)
        iou = np.where(size > 0, inter / (size + gsize - inter), np.nan)
    return {"precision": precision, "iou": iou, "size": size}


def _corr(x: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    from scipy.stats import pearsonr, spearmanr

    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return {"spearman": None, "pearson": None, "n": int(ok.sum())}
    return {"spearman": round(float(spearmanr(x[ok], y[ok])[0]), 3),
            "pearson": round(float(pearsonr(x[ok], y[ok])[0]), 3), "n": int(ok.sum())}


def _full_labels(logits: np.ndarray, n_parts: int) -> np.ndarray:
    """(M,) int64 argmax over all outputs, the "none" output (index ``n_parts``) mapped to -1."""
    lab = logits.argmax(axis=1).astype(np.int64)
    lab[lab >= n_parts] = -1
    return lab


def _purity(w: np.ndarray, pair_pred: np.ndarray, hit: np.ndarray) -> float:
    """Σ w·hit / Σ w over pairs: the share of supervision weight on correctly labelled pairs."""
    ww = np.nan_to_num(w[pair_pred].astype(np.float64))
    return float((ww * hit).sum() / ww.sum()) if ww.sum() > 0 else float("nan")


def _kept(w: np.ndarray, base: np.ndarray, pair_pred: np.ndarray, sel: np.ndarray) -> float:
    """Σ w / Σ base over the selected pairs: how much of their weight re-scoring keeps."""
    b = base[pair_pred][sel].sum()
    return float(np.nan_to_num(w[pair_pred][sel]).sum() / b) if b > 0 else float("nan")


def backward_diagnostic(ev: Evidence, config: DistillConfig, count: int = 3) -> dict[str, Any]:
    """Does the backward round (METHODS §4.5) rank the teacher's predictions better than its scores?

    For ``count`` test shapes of each of ``ev``'s categories (box teacher), aligns a TTA student
    with ``config`` (backward on) and, separately, a forward-only student to the end. For every
    teacher prediction it records the teacher score, κ′ of the backward round (the student at the
    backward epoch), κ′ that the converged forward-only student would give, and the prediction's
    true quality (:func:`prediction_quality`). Reports the correlations of quality with each
    confidence (pooled over all predictions, and the mean of per-shape Spearman), the student's
    accuracy when it re-scores, and the *purity* of the supervision, Σ w·[pair's class = ground
    truth] / Σ w over the part pairs, under each weighting (and under κ = true precision, the
    mechanism's ceiling). Ground truth is read here only, never by the alignment.
    """
    from partlift.distill.align import _rescored, align, knowledge_logits
    from partlift.distill.knowledge import build_knowledge, resolve_region
    from partlift.metrics import shape_miou, shape_part_iou

    fwd_cfg = config.replace(backward=False)
    recs: list[dict[str, Any]] = []
    shapes_out: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    for cat in ev.s.categories:
        for shape in ev.test_shapes(cat)[:count]:
            seg = ev.segmenter("box")
            prepared = seg.prepare(shape)
            preds = seg.predictions(shape, shape.part_names)
            region = resolve_region(config.region, getattr(seg.teacher, "kind", None), preds)
            know = build_knowledge(prepared.shape, prepared.views, preds, config, region=region)
            if know.is_empty:
                continue
            names = tuple(preds.part_names)
            res = align([know], names, config, regime="tta", device=ev.device)
            fwd = align([know], names, fwd_cfg, regime="tta", device=ev.device)
            lg = knowledge_logits(fwd.student, [know], device=ev.device, seed=config.seed)[0]
            kappa_conv = _rescored(lg, know, config)
            d = len(preds)
            q = prediction_quality(know, prepared.views.visible[:, know.point_index], preds.view.astype(np.int64))
            kappa = res.rescored[0] if res.rescored is not None else np.full(know.n_predictions, np.nan)
            gt = know.semantic
            lab = gt >= 0
            acc_bwd = (float((res.rescore_labels[0][lab] == gt[lab]).mean())
                       if res.rescore_labels is not None and lab.any() else None)
            acc_conv = float((lg[:, :len(names)].argmax(axis=1)[lab] == gt[lab]).mean()) if lab.any() else None
            part = know.pair_pred < d
            pp, pd = know.pair_point[part], know.pair_pred[part]
            hit = (gt[pp] == know.pred_class[pd]).astype(np.float64)

            purity = partial(_purity, pair_pred=pd, hit=hit)
            kept = partial(_kept, base=know.pred_conf.astype(np.float64), pair_pred=pd)
            good = hit > 0
            c = len(names)
            lab_fwd = _full_labels(lg, c)
            lab_bwd = _full_labels(knowledge_logits(res.student, [know], device=ev.device, seed=config.seed)[0], c)
            iou_fwd, iou_bwd = shape_part_iou(lab_fwd, gt, c), shape_part_iou(lab_bwd, gt, c)
            per_class_kept = []
            for j in range(c):
                sel = good & (know.pred_class[pd] == j)
                if sel.sum() >= 20:
                    per_class_kept.append(kept(kappa, sel=sel))
                if (gt == j).any():
                    classes.append({
                        "category": cat, "part": names[j],
                        "iou_forward": float(iou_fwd[j]), "iou_backward": float(iou_bwd[j]),
                        "correct_weight_kept": kept(kappa, sel=sel) if sel.any() else float("nan"),
                        "correct_pairs": int(sel.sum()),
                    })
            null = know.pred_class >= c
            shapes_out.append({
                "shape": shape.name, "category": cat, "predictions": d, "backward_epoch": res.backward_epoch,
                "student_accuracy_at_rescore": None if acc_bwd is None else round(acc_bwd, 3),
                "student_accuracy_converged_forward": None if acc_conv is None else round(acc_conv, 3),
                "purity_score": round(purity(know.pred_conf), 3), "purity_kappa": round(purity(kappa), 3),
                "purity_kappa_converged": round(purity(kappa_conv), 3),
                "purity_true_precision": round(purity(np.nan_to_num(q["precision"])), 3),
                "correct_weight_kept": round(kept(kappa, sel=good), 3),
                "wrong_weight_kept": round(kept(kappa, sel=~good), 3),
                "worst_class_correct_weight_kept": round(min(per_class_kept), 3) if per_class_kept else None,
                "null_weight_kept": round(float(kappa[null].mean() / know.pred_conf[null].mean()), 3)
                if null.any() else None,
                "none_fraction_on_parts_forward": round(float((lab_fwd[lab] < 0).mean()), 3) if lab.any() else None,
                "none_fraction_on_parts_backward": round(float((lab_bwd[lab] < 0).mean()), 3) if lab.any() else None,
                "none_fraction_on_unlabelled_forward": round(float((lab_fwd[~lab] < 0).mean()), 3)
                if (~lab).any() else None,
                "none_fraction_on_unlabelled_backward": round(float((lab_bwd[~lab] < 0).mean()), 3)
                if (~lab).any() else None,
                "miou_knowledge_forward": round(shape_miou(lab_fwd, gt, c), 3),
                "miou_knowledge_backward": round(shape_miou(lab_bwd, gt, c), 3),
                "spearman_precision_score": _corr(q["precision"], know.pred_conf[:d].astype(np.float64))["spearman"],
                "spearman_precision_kappa": _corr(q["precision"], kappa[:d].astype(np.float64))["spearman"],
                "spearman_precision_kappa_converged": _corr(q["precision"], kappa_conv[:d].astype(np.float64))["spearman"],
            })
            for i in range(d):
                recs.append({"score": float(know.pred_conf[i]), "kappa": float(kappa[i]),
                             "kappa_converged": float(kappa_conv[i]), "precision": float(q["precision"][i]),
                             "iou": float(q["iou"][i]), "size": float(q["size"][i])})
            logger.info("backward diagnostic %s: %s", shape.name, shapes_out[-1])
    arr = {k: np.array([r[k] for r in recs], np.float64) for k in recs[0]} if recs else {}
    pooled = {f"{qual} vs {conf}": _corr(arr[qual], arr[conf])
              for qual in ("precision", "iou") for conf in ("score", "kappa", "kappa_converged")} if recs else {}

    def mean(key: str) -> float | None:
        vals = [s[key] for s in shapes_out if s.get(key) is not None and np.isfinite(s[key])]
        return round(float(np.mean(vals)), 3) if vals else None

    summary = {k: mean(k) for k in shapes_out[0] if k not in ("shape", "category", "backward_epoch")} if shapes_out else {}
    per_class = per_class_summary(classes)
    return {"pooled": pooled, "means": summary, "per_class": per_class, "shapes": shapes_out,
            "n_predictions": len(recs)}


def per_class_summary(classes: list[dict[str, Any]], learnt: float = 0.3) -> dict[str, Any]:
    """Per-part change of IoU (on knowledge points) from forward-only to forward + backward, and
    its relation to the share of the part's correct pair weight the re-scoring kept; over all
    parts, and over the parts the forward student learnt (forward IoU >= ``learnt``)."""
    if not classes:
        return {}
    drop = np.array([r["iou_backward"] - r["iou_forward"] for r in classes], np.float64)
    kept = np.array([r["correct_weight_kept"] for r in classes], np.float64)
    fwd = np.array([r["iou_forward"] for r in classes], np.float64)
    sel = fwd >= learnt
    out: dict[str, Any] = {
        "n": len(classes), "mean_iou_change": round(float(np.mean(drop)), 3),
        "iou_change_vs_correct_weight_kept": _corr(kept, drop),
        f"n_learnt (forward IoU >= {learnt})": int(sel.sum()),
        "learnt: mean_iou_change": round(float(np.mean(drop[sel])), 3) if sel.any() else None,
        "learnt: iou_change_vs_correct_weight_kept": _corr(kept[sel], drop[sel]),
    }
    for name, mask in (("learnt, kept < 0.5", sel & (kept < 0.5)), ("learnt, kept >= 0.5", sel & (kept >= 0.5))):
        out[f"{name}: n, mean_iou_change"] = [int(mask.sum()), round(float(np.mean(drop[mask])), 3) if mask.any() else None]
    out["rows"] = classes
    return out


def backward_markdown(result: dict[str, Any]) -> str:
    """The backward diagnostic as two Markdown tables (pooled correlations; per-shape means)."""
    lines = ["| quality vs confidence | Spearman | Pearson | n |", "|---|---|---|---|"]
    for name, c in result["pooled"].items():
        lines.append(f"| {name} | {c['spearman']} | {c['pearson']} | {c['n']} |")
    lines += ["", "| per-shape mean | value |", "|---|---|"]
    for name, v in result["means"].items():
        lines.append(f"| {name} | {v} |")
    pc = result.get("per_class") or {}
    if pc:
        lines += ["", "| per part (on knowledge points) | value |", "|---|---|"]
        for name, v in pc.items():
            if name != "rows":
                lines.append(f"| {name} | {v} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- experiments


def run_experiment(name: str, ev: Evidence) -> dict[str, Any]:
    """Run experiment ``name`` (one of :data:`EXPERIMENTS`) and return its result dict."""
    cfg = ev.s.config
    fwd = cfg.replace(backward=False)
    if name == "methods":
        rows = {
            "PartSLIP voting": ev.voting("box"),
            "PartDistill TTA, forward only": ev.tta(fwd),
            "PartDistill TTA, forward + backward": ev.tta(cfg),
        }
        return ev.table(rows)
    if name == "regimes":
        rows: dict[str, RowFn] = {
            "TTA, forward only": ev.tta(fwd),
            "TTA, forward + backward": ev.tta(cfg),
        }
        for label, c in (("Pre, forward only", fwd), ("Pre, forward + backward", cfg)):
            pre = {cat: ev.pre(cat, ev.collection(cat, "real-like"), "real-like", c) for cat in ev.s.categories}
            rows[label] = (lambda p: (lambda shape: p[shape.category](shape)))(pre)
        return ev.table(rows)
    if name == "teachers":
        rows = {
            "PartSLIP voting, box teacher": ev.voting("box"),
            "PartDistill TTA, box teacher (B-VLM)": ev.tta(cfg, "box"),
            "PartDistill TTA, pixel teacher (P-VLM)": ev.tta(cfg, "pixel"),
        }
        return ev.table(rows)
    if name == "collections":
        rows = {}
        for kind in ("real-like", "generated", "both"):
            pre = {c: ev.pre(c, ev.collection(c, kind), kind, cfg) for c in ev.s.categories}
            rows[f"Pre, {kind}"] = (lambda p: (lambda shape: p[shape.category](shape)))(pre)
        return ev.table(rows)
    if name == "real":
        return _real(ev, cfg)
    if name == "backward":
        return backward_diagnostic(ev, cfg, count=ev.s.test_count)
    if name == "backbones":
        from partlift.distill.backbones import list_backbones

        steps = cfg.tta_epochs * cfg.tta_steps_per_epoch
        rows = {f"TTA forward only, {b} (width {cfg.width}, {steps} steps)": ev.tta(fwd.replace(backbone=b))
                for b in list_backbones()}
        default = DistillConfig(seed=cfg.seed).replace(backward=False)
        d_steps = default.tta_epochs * default.tta_steps_per_epoch
        rows[f"TTA forward only, default: {default.backbone} (width {default.width}, {d_steps} steps)"] = ev.tta(default)
        return ev.table(rows)
    raise ValueError(f"unknown experiment {name!r}; choose one of {list(EXPERIMENTS)}")


def _real(ev: Evidence, cfg: DistillConfig) -> dict[str, Any]:
    """The real PartNet-Mobility dev shapes (estimated PartNet-E labels): voting, TTA, and a student
    pre-aligned on generated shapes of the same category (real-like + generated)."""
    from partlift.data.partnete import PartNetEDataset
    from partlift.data.synthetic import list_categories

    ds = PartNetEDataset(ev.s.real_root or default_real_root())
    by_cat: dict[str, list[Shape]] = {}
    for shape in ds.iter_shapes():
        by_cat.setdefault(shape.category, []).append(shape)
    rows: dict[str, RowFn] = {"PartSLIP voting": ev.voting("box"),
                                                      "PartDistill TTA": ev.tta(cfg)}
    gen_cats = [c for c in by_cat if c in list_categories()]
    pre = {c: ev.pre(c, ev.collection(c, "both"), "both", cfg) for c in gen_cats}

    def pre_row(shape: Shape) -> np.ndarray:
        if shape.category not in pre:
            return np.full(shape.n_points, -1, np.int64)
        return pre[shape.category](shape)

    rows["PartDistill Pre (generated collection)"] = pre_row
    result = ev.table(rows, by_cat)
    result["note"] = (f"categories without a generator ({sorted(set(by_cat) - set(gen_cats))}) have no "
                      "pre-aligned student: that row labels them -1")
    return result


def bench_shape_miou(folder: str | os.PathLike, method: str) -> dict[str, float]:
    """Per-shape mIoU (%) of ``method`` in a ``partlift bench`` output folder
    (``shapes/<method>/<Category>/<id>.json``, key ``shape_miou``), by shape name."""
    out: dict[str, float] = {}
    for f in sorted(Path(folder, "shapes", method).glob("*/*.json")):
        rec = json.loads(f.read_text())
        if rec.get("status") == "ok" and rec.get("shape_miou") is not None:
            out[rec["shape"]] = 100.0 * float(rec["shape_miou"])
    return out


def paired_bootstrap(diffs: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% interval (2.5 / 97.5 percentiles) of the mean of paired per-shape differences:
    numpy ``RandomState(seed)``, ``resamples`` resamples of the differences with replacement (the
    recipe of docs/reproduction.md "statistical confidence")."""
    d = np.asarray(diffs, np.float64)
    idx = np.random.RandomState(seed).randint(0, len(d), size=(resamples, len(d)))
    lo, hi = np.percentile(d[idx].mean(axis=1), [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_rows(base: str, rows: Sequence[str]) -> list[dict[str, Any]]:
    """``FOLDER:METHOD`` rows against the ``FOLDER:METHOD`` base, over the shapes both have: mean
    mIoU of each, mean paired difference, its interval (:func:`paired_bootstrap`), shapes ahead."""
    def split(spec: str) -> tuple[str, str]:
        folder, _, method = spec.rpartition(":")
        return folder, method

    b = bench_shape_miou(*split(base))
    out = []
    for spec in rows:
        x = bench_shape_miou(*split(spec))
        keys = sorted(set(x) & set(b))
        if not keys:
            out.append({"row": spec, "n": 0})
            continue
        d = np.array([x[k] - b[k] for k in keys])
        lo, hi = paired_bootstrap(d)
        out.append({"row": spec, "n": len(keys), "mean_shape_miou": round(float(np.mean([x[k] for k in keys])), 2),
                    "base_mean_shape_miou": round(float(np.mean([b[k] for k in keys])), 2),
                    "diff": round(float(d.mean()), 2), "ci95": [round(lo, 2), round(hi, 2)],
                    "ahead": int((d > 0).sum()), "ties": int((d == 0).sum())})
    return out


def _bootstrap_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/partdistill_evidence.py bootstrap",
                                description="paired-bootstrap 95%% intervals of per-shape mIoU differences "
                                            "between `partlift bench` folders")
    p.add_argument("base", help="FOLDER:METHOD of the baseline (e.g. out/synth:partslip)")
    p.add_argument("rows", nargs="+", help="FOLDER:METHOD rows compared with it")
    args = p.parse_args(argv)
    for r in bootstrap_rows(args.base, args.rows):
        sys.stdout.write(json.dumps(r) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python benchmarks/partdistill_evidence.py EXPERIMENT [options]``; prints the Markdown table."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["bootstrap"]:
        return _bootstrap_main(args_list[1:])
    p = argparse.ArgumentParser(prog="python benchmarks/partdistill_evidence.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("--categories", nargs="+", default=list(DEFAULT_CATEGORIES))
    p.add_argument("--test-count", type=int, default=EvidenceSettings.test_count)
    p.add_argument("--test-points", type=int, default=EvidenceSettings.test_points)
    p.add_argument("--preset", default=EvidenceSettings.preset, help="render preset for the teacher")
    p.add_argument("--collection-count", type=int, default=EvidenceSettings.collection_count)
    p.add_argument("--pre-items", type=int, default=EvidenceSettings.pre_items)
    p.add_argument("--teacher", default=EvidenceSettings.teacher)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", default=None, help="JSON dict of DistillConfig fields overriding the defaults")
    p.add_argument("--cache", default="out/distill-evidence/cache")
    p.add_argument("--out", default="out/distill-evidence")
    p.add_argument("--device", default="cpu")
    p.add_argument("--real-root", default=None,
                   help="PartNet-E-layout root of the 'real' experiment (default: $PARTLIFT_REAL_DEV, "
                        "else ../shared/data/partnete_real_dev beside this checkout)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    # as the CLI (partlift.cli.main): idle OpenMP threads sleep instead of spinning, which keeps
    # timings sane when other processes share the cores; must precede torch's import
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from partlift.distill.config import config_from_dict

    cfg = DistillConfig(seed=args.seed)
    if args.config:
        cfg = config_from_dict({**cfg.to_dict(), **json.loads(args.config)})
    settings = EvidenceSettings(categories=tuple(args.categories), test_count=args.test_count,
                                test_points=args.test_points, preset=args.preset,
                                collection_count=args.collection_count, pre_items=args.pre_items,
                                teacher=args.teacher, seed=args.seed,
                                config=cfg, real_root=args.real_root)
    ev = Evidence(settings, args.cache, args.device, progress=not args.no_progress)
    t0 = time.perf_counter()
    result = run_experiment(args.experiment, ev)
    result.update({"experiment": args.experiment, "seconds": round(time.perf_counter() - t0, 1),
                   "settings": {**{k: v for k, v in settings.__dict__.items() if k != "config"},
                                "config": cfg.to_dict()},
                   "command": "python benchmarks/partdistill_evidence.py "
                              + " ".join(argv if argv is not None else sys.argv[1:])})
    out = Path(args.out)
    atomic.write_json(out / f"{args.experiment}.json", json_ready(result), indent=2)
    table = backward_markdown(result) if args.experiment == "backward" else markdown(result)
    atomic.write_text(out / f"{args.experiment}.md", table + "\n")
    sys.stdout.write(table + f"\n({result['seconds']} s)\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
