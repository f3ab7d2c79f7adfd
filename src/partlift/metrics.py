"""Evaluation metrics, exactly as METHODS §1.6.

* :class:`SemanticIoU` / :func:`shape_miou` — PartNet-E semantic mIoU (§1.6.1).
* :class:`InstanceAP` — PartNet-E instance mAP50, the PartNet protocol (§1.6.2, with the released
  code's (recall 0, precision 1) curve start that §1.6.2 omits; see :func:`interpolated_ap`).
* :class:`ShapeNetPartIoU` / :func:`shapenetpart_shape_iou` — ShapeNetPart mIoU (§1.6.3).
* :func:`overall` / :func:`group_means` — unweighted means over categories and over the 17
  overlapping / 28 non-overlapping PartNet-E categories.

All values are fractions in [0, 1] (tables multiply by 100). Labels are (N,) integer arrays with
``-1`` = "no part" / "no instance". The empty-part policies are explicit:

* PartNet-E semantic: a part absent from a shape's ground truth is skipped for that shape (a
  prediction of it is not penalised); a part absent from every shape is left out of the category
  mean. GT ``-1`` points predicted as a part enlarge that part's union; predicted ``-1`` never
  counts as a part.
* ShapeNetPart: every part of the category counts for every shape; a part absent from both the
  prediction and the ground truth has IoU 1.
* Instance AP: parts with ground truth but no prediction get AP 0; parts without ground truth in
  any shape are left out.

This module imports nothing beyond numpy, so it can be used without any teacher or training code.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from partlift.errors import InputError

__all__ = [
    "AP_IOU_THRESHOLD",
    "AP_RECALL_STEPS",
    "SemanticIoU",
    "shape_part_iou",
    "shape_miou",
    "InstanceAP",
    "interpolated_ap",
    "ShapeNetPartIoU",
    "shapenetpart_shape_iou",
    "shapenetpart_shape_miou",
    "overall",
    "group_means",
]

logger = logging.getLogger(__name__)

# METHODS §1.6.2: a predicted instance is a true positive iff its IoU with a GT instance > 0.5.
AP_IOU_THRESHOLD = 0.5
# METHODS §1.6.2: AP is the mean of the interpolated precision at recall 0, 0.01, ..., 1 (with the
# released code's (recall 0, precision 1) starting point, see interpolated_ap).
AP_RECALL_STEPS = 100


# --------------------------------------------------------------------------------------------
# validation helpers


def _check_part_names(part_names: Any, owner: str) -> tuple[str, ...]:
    if isinstance(part_names, str) or not isinstance(part_names, Iterable):
        raise InputError(
            f"{owner}: expected a list of part names, got {type(part_names).__name__} "
            f"{part_names!r}"
        )
    names = tuple(part_names)
    if not names or not all(isinstance(p, str) and p for p in names):
        raise InputError(f"{owner}: expected a non-empty list of non-empty strings, got {names!r}")
    if len(set(names)) != len(names):
        raise InputError(f"{owner}: part names must be unique, got {list(names)}")
    return names


def _check_labels(
    name: str, arr: Any, n_parts: int | None, owner: str, n: int | None = None
) -> np.ndarray:
    """(N,) int64 copy of ``arr``; values in [-1, n_parts) (or >= -1 when n_parts is None)."""
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{owner}: {name} must be a numpy array of (N,) ints, got {type(arr).__name__}")
    if arr.ndim != 1:
        raise InputError(f"{owner}: {name} must have shape (N,), got {tuple(arr.shape)}")
    if arr.dtype.kind not in "iu":
        raise InputError(
            f"{owner}: {name} must hold integer labels, got dtype {arr.dtype}; "
            "convert with .astype(np.int64)"
        )
    if n is not None and arr.shape[0] != n:
        raise InputError(
            f"{owner}: {name} has {arr.shape[0]} labels but the other arrays have {n}; "
            "give one label per point of the same cloud"
        )
    out = arr.astype(np.int64)
    if out.size:
        lo, hi = int(out.min()), int(out.max())
        if lo < -1 or (n_parts is not None and hi >= n_parts):
            valid = "[-1, inf)" if n_parts is None else f"[-1, {n_parts - 1}]"
            raise InputError(
                f"{owner}: {name} values must be in {valid} (-1 = none), got range [{lo}, {hi}]"
            )
    return out


def _check_same_parts(given: Any, expected: tuple[str, ...], owner: str) -> None:
    if given is not None and tuple(given) != expected:
        raise InputError(
            f"{owner}: labels index part names {list(given)} but this accumulator counts "
            f"{list(expected)}; evaluate with the same part list"
        )


# --------------------------------------------------------------------------------------------
# PartNet-E semantic mIoU (METHODS §1.6.1)


def shape_part_iou(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> np.ndarray:
    """Per-part IoU of one PartNet-E shape (METHODS §1.6.1).

    ``IoU_p = |pred = p and gt = p| / |pred = p or gt = p|`` over all points, for each part ``p``
    present in ``gt``. GT ``-1`` points predicted as ``p`` enlarge the union; predicted ``-1``
    counts as no part.

    Args:
        pred: (N,) int predicted part index, -1 = unlabelled.
        gt: (N,) int ground-truth part index, -1 = not any listed part.
        n_parts: number of parts of the category.

    Returns:
        (n_parts,) float64 IoU; NaN for parts absent from ``gt`` (they are skipped).
    """
    owner = "shape_part_iou"
    if not isinstance(n_parts, (int, np.integer)) or isinstance(n_parts, bool) or n_parts < 1:
        raise InputError(f"{owner}: n_parts must be a positive int, got {n_parts!r}")
    n_parts = int(n_parts)
    gt = _check_labels("gt", gt, n_parts, owner)
    pred = _check_labels("pred", pred, n_parts, owner, n=gt.shape[0])
    return _part_iou(pred, gt, n_parts)


def _part_iou(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> np.ndarray:
    n_pred = np.bincount(pred[pred >= 0], minlength=n_parts)
    n_gt = np.bincount(gt[gt >= 0], minlength=n_parts)
    inter = np.bincount(gt[(pred == gt) & (gt >= 0)], minlength=n_parts)
    union = n_pred + n_gt - inter
    iou = np.full(n_parts, np.nan)
    present = n_gt > 0
    iou[present] = inter[present] / union[present]
    return iou


def shape_miou(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> float:
    """Mean IoU of one PartNet-E shape over the parts present in its ground truth (§1.6.1).

    Args:
        pred: (N,) int predicted part index, -1 = unlabelled.
        gt: (N,) int ground-truth part index, -1 = not any listed part.
        n_parts: number of parts of the category.

    Returns:
        float in [0, 1]; NaN when ``gt`` contains no part at all (nothing to measure).
    """
    iou = shape_part_iou(pred, gt, n_parts)
    present = ~np.isnan(iou)
    return float(iou[present].mean()) if present.any() else math.nan


class SemanticIoU:
    """Accumulator of PartNet-E semantic mIoU over the shapes of one category (METHODS §1.6.1).

    Example::

        acc = SemanticIoU(part_names("Chair"))
        for shape, labels in results:
            acc.add(labels.semantic, shape.semantic, name=shape.name)
        acc.category_miou()

    Args:
        part_names: the category's ordered part names (label ``k`` = ``part_names[k]``).
    """

    def __init__(self, part_names: Sequence[str]) -> None:
        self.part_names = _check_part_names(part_names, "SemanticIoU")
        self._rows: list[np.ndarray] = []
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        pred: np.ndarray,
        gt: np.ndarray,
        *,
        name: str | None = None,
        part_names: Sequence[str] | None = None,
    ) -> dict[str, float]:
        """Score one shape and remember it.

        Args:
            pred: (N,) int predicted part index into ``self.part_names``, -1 = unlabelled.
            gt: (N,) int ground-truth part index, -1 = not any listed part.
            name: shape identifier used by :meth:`per_shape` (default: its position).
            part_names: if given, checked to equal ``self.part_names``.

        Returns:
            {part: IoU} for the parts present in ``gt``, in part order.
        """
        _check_same_parts(part_names, self.part_names, "SemanticIoU.add")
        iou = shape_part_iou(pred, gt, len(self.part_names))
        self._rows.append(iou)
        self._names.append(str(len(self._rows) - 1) if name is None else str(name))
        return _present(self.part_names, iou)

    def per_shape(self) -> list[tuple[str, dict[str, float]]]:
        """(name, {part: IoU for parts present in that shape's GT}) per shape, in add order."""
        rows = zip(self._names, self._rows, strict=True)
        return [(n, _present(self.part_names, r)) for n, r in rows]

    def shape_mious(self) -> list[tuple[str, float]]:
        """(name, mean IoU over the parts present in its GT; NaN if none) per shape, add order."""
        out = []
        for n, r in zip(self._names, self._rows, strict=True):
            ok = ~np.isnan(r)
            out.append((n, float(r[ok].mean()) if ok.any() else math.nan))
        return out

    def counts(self) -> dict[str, int]:
        """{part: number of added shapes whose GT contains the part}, every part."""
        m = self._matrix()
        return {p: int((~np.isnan(m[:, k])).sum()) for k, p in enumerate(self.part_names)}

    def per_part(self) -> dict[str, float]:
        """{part: mean IoU over the shapes whose GT contains it}, for parts present at least once.

        Parts absent from every added shape are left out (PartSTAD's policy, METHODS §1.6.1).
        """
        m = self._matrix()
        out = {}
        for k, p in enumerate(self.part_names):
            col = m[:, k][~np.isnan(m[:, k])]
            if col.size:
                out[p] = float(col.mean())
        return out

    def category_miou(self) -> float:
        """Mean of :meth:`per_part` over the parts that appeared (never NaN).

        Raises:
            InputError: no shape was added, or no part appears in any added shape's GT.
        """
        if not self._rows:
            raise InputError("SemanticIoU: no shapes were added; call add(pred, gt) first")
        per = self.per_part()
        if not per:
            raise InputError(
                f"SemanticIoU: none of the parts {list(self.part_names)} appears in the ground "
                f"truth of the {len(self._rows)} added shape(s); the category mIoU is undefined"
            )
        missing = [p for p in self.part_names if p not in per]
        if missing:
            logger.info("SemanticIoU: parts %s never appear in the GT; skipped", missing)
        return float(np.mean(list(per.values())))

    def _matrix(self) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, len(self.part_names)))
        return np.stack(self._rows)


def _present(part_names: tuple[str, ...], iou: np.ndarray) -> dict[str, float]:
    return {p: float(v) for p, v in zip(part_names, iou, strict=True) if not np.isnan(v)}


# --------------------------------------------------------------------------------------------
# PartNet-E instance mAP50 (METHODS §1.6.2)


def interpolated_ap(tp: np.ndarray, n_gt: int, steps: int = AP_RECALL_STEPS) -> float:
    """Interpolated average precision of ranked detections (the released PartNet protocol).

    ``AP = 1/(steps+1) * sum_{t in 0, 1/steps, ..., 1} max{precision at recall >= t}`` (0 when no
    rank reaches recall ``t``), where the precision/recall curve starts at the point (recall 0,
    precision 1) before the first detection. METHODS §1.6.2 omits that starting point; the
    released code has it (PartSLIP2 ``eval/eval_utils.py``, ``compute_ap``: ``rec`` and ``prec``
    get ``0.0`` and ``1.0`` inserted at index 0), and we follow the code. Its effect: whenever
    there is at least one detection the ``t = 0`` term is 1, so one GT instance ranked
    [FP, TP] scores (1 + 100 * 1/2) / 101 = 0.50495 and [FP] alone 1/101 = 0.0099. With no
    detection the AP is 0 (the released code never calls ``compute_ap`` then).

    The comparison ``recall >= t`` is done in exact integer arithmetic
    (``tp_cum * steps >= k * n_gt``), so no recall is lost to float rounding.

    Args:
        tp: (D,) bool, detection ``d`` (in rank order) is a true positive.
        n_gt: number of ground-truth instances (> 0).
        steps: recall steps (100 gives the 101-point AP).

    Returns:
        AP in [0, 1]; 0 when there are no detections.
    """
    tp = np.asarray(tp, dtype=bool)
    if tp.ndim != 1:
        raise InputError(f"interpolated_ap: tp must have shape (D,), got {tuple(tp.shape)}")
    if int(n_gt) < 1:
        raise InputError(f"interpolated_ap: n_gt must be >= 1, got {n_gt}")
    if tp.size == 0:
        return 0.0
    # the curve with its starting point (recall 0, precision 1) prepended, as compute_ap does
    tp_cum = np.concatenate([[0], np.cumsum(tp)]).astype(np.int64)
    precision = np.concatenate([[1.0], tp_cum[1:] / np.arange(1, tp.size + 1)])
    # best precision at recall >= r, for every point of the curve (suffix maximum)
    best_after = np.maximum.accumulate(precision[::-1])[::-1]
    total = 0.0
    for k in range(steps + 1):
        reached = np.flatnonzero(tp_cum * steps >= k * int(n_gt))
        if reached.size:
            total += float(best_after[reached[0]])
    return total / (steps + 1)


class InstanceAP:
    """Accumulator of PartNet-E instance AP per part over one category (METHODS §1.6.2).

    Ground truth of a shape: every id != -1 of ``gt_instance`` is an instance, labelled by the
    semantic label of its first point (lowest point index). Instances whose label is -1 are
    invalid; their points are "other" and are removed from every predicted mask before IoU.

    Predictions of a shape: every (part, instance id) pair with both >= 0 is a predicted mask.
    They are ranked by descending confidence; equal confidences (the default: 1.0 for all, as in
    the protocol) keep the order instance id, then part id, and shapes keep their add order.
    Per shape and part, each prediction in rank order is matched to the unused GT instance of the
    same part with the highest IoU; it is a true positive iff that IoU > ``iou_threshold``.

    Args:
        part_names: the category's ordered part names.
        iou_threshold: the matching threshold (0.5 = mAP50).
    """

    def __init__(self, part_names: Sequence[str], iou_threshold: float = AP_IOU_THRESHOLD) -> None:
        self.part_names = _check_part_names(part_names, "InstanceAP")
        thr = float(iou_threshold)
        if not 0.0 <= thr < 1.0:
            raise InputError(f"InstanceAP: iou_threshold must be in [0, 1), got {iou_threshold!r}")
        self.iou_threshold = thr
        n = len(self.part_names)
        self._scores: list[list[float]] = [[] for _ in range(n)]
        self._tp: list[list[bool]] = [[] for _ in range(n)]
        self._n_gt = np.zeros(n, np.int64)
        self._n_shapes = 0

    def __len__(self) -> int:
        return self._n_shapes

    def add(
        self,
        pred_semantic: np.ndarray,
        pred_instance: np.ndarray,
        gt_semantic: np.ndarray,
        gt_instance: np.ndarray,
        confidence: np.ndarray | None = None,
    ) -> None:
        """Match one shape's predicted instances to its GT instances and remember the result.

        Args:
            pred_semantic: (N,) int predicted part index, -1 = unlabelled.
            pred_instance: (N,) int predicted instance id, -1 = none.
            gt_semantic: (N,) int GT part index, -1 = none.
            gt_instance: (N,) int GT instance id, -1 = none.
            confidence: optional (K,) float, the confidence of predicted instance id ``k`` at
                index ``k`` (K > the largest predicted instance id). Default: 1.0 for all.
        """
        owner = "InstanceAP.add"
        n_parts = len(self.part_names)
        gs = _check_labels("gt_semantic", gt_semantic, n_parts, owner)
        n = gs.shape[0]
        gi = _check_labels("gt_instance", gt_instance, None, owner, n=n)
        ps = _check_labels("pred_semantic", pred_semantic, n_parts, owner, n=n)
        pi = _check_labels("pred_instance", pred_instance, None, owner, n=n)

        # ground-truth instances, labelled by their first point
        gt_ids, first = np.unique(gi[gi >= 0], return_index=True)
        gt_pts = np.flatnonzero(gi >= 0)
        gt_label = gs[gt_pts[first]] if gt_ids.size else np.zeros(0, np.int64)
        gt_idx = np.full(n, -1, np.int64)
        gt_idx[gt_pts] = np.searchsorted(gt_ids, gi[gt_pts])
        other = np.zeros(n, bool)
        if (gt_label < 0).any():
            other = np.isin(gt_idx, np.flatnonzero(gt_label < 0))
        gt_size = np.bincount(gt_idx[gt_idx >= 0], minlength=gt_ids.size)

        # predicted instances: (instance id, part) pairs, in that order
        has = (ps >= 0) & (pi >= 0)
        pairs = np.zeros((0, 2), np.int64)
        pr_idx = np.full(n, -1, np.int64)
        if has.any():
            pairs, inverse = np.unique(
                np.stack([pi[has], ps[has]], axis=1), axis=0, return_inverse=True
            )
            pr_idx[has] = np.asarray(inverse).reshape(-1)
        conf = self._confidences(confidence, pairs[:, 0], owner)

        # sizes and intersections, "other" points removed from the predictions
        keep = (pr_idx >= 0) & ~other
        n_pred, n_gtin = pairs.shape[0], gt_ids.size
        pred_size = np.bincount(pr_idx[keep], minlength=n_pred)
        both = keep & (gt_idx >= 0)
        inter = np.bincount(
            pr_idx[both] * n_gtin + gt_idx[both], minlength=n_pred * n_gtin
        ).reshape(n_pred, n_gtin)
        union = pred_size[:, None] + gt_size[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)

        # greedy matching in rank order; state changes only after all inputs were validated
        order = np.argsort(-conf, kind="stable")
        used = np.zeros(n_gtin, bool)
        for d in order:
            part = int(pairs[d, 1])
            cand = np.flatnonzero((gt_label == part) & ~used)
            is_tp = False
            if cand.size:
                j = cand[int(np.argmax(iou[d, cand]))]
                if iou[d, j] > self.iou_threshold:
                    used[j] = True
                    is_tp = True
            self._scores[part].append(float(conf[d]))
            self._tp[part].append(is_tp)
        np.add.at(self._n_gt, gt_label[gt_label >= 0], 1)
        self._n_shapes += 1

    def _confidences(
        self, confidence: np.ndarray | None, inst_ids: np.ndarray, owner: str
    ) -> np.ndarray:
        if confidence is None:
            return np.ones(inst_ids.shape[0])
        c = np.asarray(confidence, dtype=np.float64) if isinstance(confidence, np.ndarray) else None
        if c is None or c.ndim != 1:
            raise InputError(
                f"{owner}: confidence must be a (K,) float array indexed by predicted instance "
                f"id, got {type(confidence).__name__}"
                + ("" if c is None else f" of shape {tuple(c.shape)}")
            )
        if inst_ids.size and int(inst_ids.max()) >= c.shape[0]:
            raise InputError(
                f"{owner}: confidence has {c.shape[0]} entries but predicted instance id "
                f"{int(inst_ids.max())} occurs; give one confidence per instance id"
            )
        if not np.isfinite(c).all():
            raise InputError(f"{owner}: confidence contains NaN or infinite values")
        return c[inst_ids]

    def n_gt(self) -> dict[str, int]:
        """{part: number of valid GT instances over all added shapes}, every part."""
        return {p: int(k) for p, k in zip(self.part_names, self._n_gt, strict=True)}

    def per_part(self) -> dict[str, float]:
        """{part: AP} for the parts with at least one GT instance (AP 0 if never predicted)."""
        out = {}
        for k, p in enumerate(self.part_names):
            if self._n_gt[k] == 0:
                continue
            scores = np.asarray(self._scores[k], dtype=np.float64)
            tp = np.asarray(self._tp[k], dtype=bool)
            order = np.argsort(-scores, kind="stable")
            out[p] = interpolated_ap(tp[order], int(self._n_gt[k]))
        return out

    def category_map(self) -> float:
        """Mean AP over the parts with GT instances.

        Raises:
            InputError: no shape was added, or no valid GT instance was seen.
        """
        if not self._n_shapes:
            raise InputError("InstanceAP: no shapes were added; call add(...) first")
        per = self.per_part()
        if not per:
            raise InputError(
                f"InstanceAP: no valid GT instance of the parts {list(self.part_names)} in the "
                f"{self._n_shapes} added shape(s); the category mAP is undefined"
            )
        return float(np.mean(list(per.values())))


# --------------------------------------------------------------------------------------------
# ShapeNetPart mIoU (METHODS §1.6.3)


def shapenetpart_shape_iou(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> np.ndarray:
    """Per-part IoU of one ShapeNetPart shape (METHODS §1.6.3).

    Every part of the category counts; a part absent from both ``pred`` and ``gt`` (empty union)
    has IoU 1 ("follow PointCLIPv2"). Labels are local part ids (global id minus the category
    offset); ``-1`` is allowed and counts as no part.

    Args:
        pred: (N,) int predicted local part id.
        gt: (N,) int ground-truth local part id.
        n_parts: number of parts of the category.

    Returns:
        (n_parts,) float64 IoU in [0, 1].
    """
    owner = "shapenetpart_shape_iou"
    if not isinstance(n_parts, (int, np.integer)) or isinstance(n_parts, bool) or n_parts < 1:
        raise InputError(f"{owner}: n_parts must be a positive int, got {n_parts!r}")
    n_parts = int(n_parts)
    gt = _check_labels("gt", gt, n_parts, owner)
    pred = _check_labels("pred", pred, n_parts, owner, n=gt.shape[0])
    n_pred = np.bincount(pred[pred >= 0], minlength=n_parts)
    n_gt = np.bincount(gt[gt >= 0], minlength=n_parts)
    inter = np.bincount(gt[(pred == gt) & (gt >= 0)], minlength=n_parts)
    union = n_pred + n_gt - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def shapenetpart_shape_miou(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> float:
    """Mean of :func:`shapenetpart_shape_iou` over all parts of the category."""
    return float(shapenetpart_shape_iou(pred, gt, n_parts).mean())


class ShapeNetPartIoU:
    """Accumulator of ShapeNetPart mIoU over the shapes of one category (METHODS §1.6.3).

    Category mIoU = mean over shapes of the shape mIoU (a fraction; the paper reports ×100,
    rounded to 2 decimals).

    Args:
        part_names: the category's ordered part names (local ids).
    """

    def __init__(self, part_names: Sequence[str]) -> None:
        self.part_names = _check_part_names(part_names, "ShapeNetPartIoU")
        self._rows: list[np.ndarray] = []
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        pred: np.ndarray,
        gt: np.ndarray,
        *,
        name: str | None = None,
        part_names: Sequence[str] | None = None,
    ) -> float:
        """Score one shape (local ids), remember it and return its shape mIoU."""
        _check_same_parts(part_names, self.part_names, "ShapeNetPartIoU.add")
        iou = shapenetpart_shape_iou(pred, gt, len(self.part_names))
        self._rows.append(iou)
        self._names.append(str(len(self._rows) - 1) if name is None else str(name))
        return float(iou.mean())

    def per_shape(self) -> list[tuple[str, float]]:
        """(shape name, shape mIoU) per shape, in add order."""
        return [(n, float(r.mean())) for n, r in zip(self._names, self._rows, strict=True)]

    def per_part(self) -> dict[str, float]:
        """{part: mean IoU over all added shapes} (informative; not part of the protocol)."""
        if not self._rows:
            return {}
        m = np.stack(self._rows).mean(axis=0)
        return {p: float(v) for p, v in zip(self.part_names, m, strict=True)}

    def category_miou(self) -> float:
        """Mean shape mIoU over the added shapes.

        Raises:
            InputError: no shape was added.
        """
        if not self._rows:
            raise InputError("ShapeNetPartIoU: no shapes were added; call add(pred, gt) first")
        return float(np.mean([r.mean() for r in self._rows]))


# --------------------------------------------------------------------------------------------
# aggregation over categories


def _check_values(category_values: Any, owner: str) -> dict[str, float]:
    if not isinstance(category_values, Mapping) or not category_values:
        raise InputError(
            f"{owner}: expected a non-empty {{category: value}} mapping, got {category_values!r}"
        )
    out = {}
    for cat, v in category_values.items():
        try:
            f = float(v)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{owner}: value of {cat!r} is not a number: {v!r}") from exc
        if not math.isfinite(f):
            raise InputError(
                f"{owner}: value of {cat!r} is {f}; drop categories without a score first"
            )
        out[str(cat)] = f
    return out


def overall(category_values: Mapping[str, float]) -> float:
    """Unweighted mean of per-category values (METHODS §1.6.1 "Overall").

    Raises:
        InputError: empty mapping or a non-finite value.
    """
    vals = _check_values(category_values, "overall")
    return float(np.mean(list(vals.values())))


def group_means(category_values: Mapping[str, float]) -> dict[str, float]:
    """Means over the PartNet-E category groups present (METHODS §1.5.1).

    Returns:
        {"17": mean over the overlapping categories present, "28": mean over the
        non-overlapping ones present, "all": mean over all}; a group with no category present
        is left out.

    Raises:
        InputError: empty mapping, a non-finite value, or a name that is not a PartNet-E category.
    """
    from partlift.categories import category_group  # light: reads the packaged JSON only

    vals = _check_values(category_values, "group_means")
    groups: dict[str, list[float]] = {"17": [], "28": []}
    for cat in sorted(vals):
        groups[category_group(cat)].append(vals[cat])
    out = {g: float(np.mean(v)) for g, v in groups.items() if v}
    out["all"] = float(np.mean(list(vals.values())))
    return out
