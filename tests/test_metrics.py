"""Hand-computed cases for every rule of METHODS §1.6 (partlift.metrics)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from partlift.errors import InputError
from partlift.metrics import (
    InstanceAP,
    SemanticIoU,
    ShapeNetPartIoU,
    group_means,
    interpolated_ap,
    overall,
    shape_miou,
    shape_part_iou,
    shapenetpart_shape_iou,
    shapenetpart_shape_miou,
)


def a(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# ---------------------------------------------------------------- PartNet-E semantic (§1.6.1)

# point:     0  1  2  3  4   5  6   7
GT_A = a(0, 0, 0, 1, 1, -1, -1, -1)
PRED_A = a(0, 0, 1, 1, -1, 0, 2, -1)
# part 0: gt {0,1,2}, pred {0,1,5} -> inter {0,1} = 2, union {0,1,2,5} = 4 -> 1/2
#         (point 5 is GT -1 predicted as part 0: it enlarges the union)
# part 1: gt {3,4}, pred {2,3}     -> inter {3} = 1, union {2,3,4} = 3 -> 1/3
#         (point 4 predicted -1 is a miss; predicted -1 at 7 counts for nothing)
# part 2: absent from GT -> skipped although predicted at point 6 (not penalised)
# shape mIoU = (1/2 + 1/3) / 2 = 5/12

# point:     0  1  2  3
GT_B = a(2, 2, 0, 0)
PRED_B = a(2, 0, 0, 0)
# part 0: gt {2,3}, pred {1,2,3} -> 2/3 ; part 2: gt {0,1}, pred {0} -> 1/2 ; part 1 absent


def test_shape_part_iou_hand_computed() -> None:
    iou = shape_part_iou(PRED_A, GT_A, 3)
    assert iou[0] == pytest.approx(1 / 2)
    assert iou[1] == pytest.approx(1 / 3)
    assert math.isnan(iou[2])
    assert shape_miou(PRED_A, GT_A, 3) == pytest.approx(5 / 12)


def test_predicted_minus_one_never_counts() -> None:
    # GT -1 points predicted -1 change nothing: part 0 is exact -> IoU 1
    assert shape_miou(a(-1, -1, 0), a(-1, -1, 0), 1) == 1.0
    # everything predicted -1: present parts get IoU 0, not NaN
    np.testing.assert_allclose(shape_part_iou(a(-1, -1, -1), a(0, 1, -1), 2), [0.0, 0.0])


def test_shape_without_parts_is_nan() -> None:
    assert math.isnan(shape_miou(a(0, 0), a(-1, -1), 2))


def test_semantic_accumulator_hand_computed() -> None:
    acc = SemanticIoU(("a", "b", "c", "d"))  # "d" never appears in any GT
    assert acc.add(PRED_A, GT_A, name="A") == pytest.approx({"a": 1 / 2, "b": 1 / 3})
    acc.add(PRED_B, GT_B, name="B")
    # a: mean(1/2, 2/3) = 7/12 ; b: only in A -> 1/3 ; c: only in B -> 1/2 ; d: skipped
    per = acc.per_part()
    assert list(per) == ["a", "b", "c"]
    assert per == pytest.approx({"a": 7 / 12, "b": 1 / 3, "c": 1 / 2})
    assert acc.category_miou() == pytest.approx((7 / 12 + 1 / 3 + 1 / 2) / 3)  # 17/36
    assert acc.counts() == {"a": 2, "b": 1, "c": 1, "d": 0}
    assert [n for n, _ in acc.per_shape()] == ["A", "B"]
    assert acc.per_shape()[1][1] == pytest.approx({"a": 2 / 3, "c": 1 / 2})
    assert acc.shape_mious()[0] == ("A", pytest.approx(5 / 12))
    assert len(acc) == 2


def _reference_iou(pred: np.ndarray, gt: np.ndarray, n_parts: int) -> list[float]:
    """Slow, obviously correct loop over the §1.6.1 definition."""
    out = []
    for p in range(n_parts):
        inter = sum(1 for x, y in zip(pred, gt, strict=True) if x == p and y == p)
        union = sum(1 for x, y in zip(pred, gt, strict=True) if x == p or y == p)
        has = any(y == p for y in gt)
        out.append(inter / union if has else math.nan)
    return out


def test_semantic_matches_loop_reference() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        n_parts = int(rng.integers(1, 5))
        gt = rng.integers(-1, n_parts, 60)
        pred = rng.integers(-1, n_parts, 60)
        np.testing.assert_allclose(
            shape_part_iou(pred, gt, n_parts), _reference_iou(pred, gt, n_parts)
        )


def test_semantic_errors() -> None:
    acc = SemanticIoU(["a", "b"])
    with pytest.raises(InputError, match="no shapes"):
        acc.category_miou()
    with pytest.raises(InputError, match="one label per point"):
        acc.add(a(0, 1), a(0, 1, 1))
    with pytest.raises(InputError, match="integer"):
        acc.add(np.zeros(3), a(0, 1, 1))
    with pytest.raises(InputError, match=r"\[-1, 1\]"):
        acc.add(a(0, 2, 1), a(0, 1, 1))
    with pytest.raises(InputError, match="same part list"):
        acc.add(a(0), a(0), part_names=["b", "a"])
    acc.add(a(0, 1), a(-1, -1))
    with pytest.raises(InputError, match="undefined"):
        acc.category_miou()
    with pytest.raises(InputError, match="unique"):
        SemanticIoU(["a", "a"])
    with pytest.raises(InputError, match="list of part names"):
        SemanticIoU("arm")


# ---------------------------------------------------------------- instance AP (§1.6.2)


def test_interpolated_ap_101_points() -> None:
    # ranks: TP, FP, TP with 3 GT instances
    # precision 1, 1/2, 2/3 ; recall 1/3, 1/3, 2/3
    # t = 0.00..0.33 (34 points): best precision at recall >= t is 1
    # t = 0.34..0.66 (33 points): only rank 3 reaches it -> 2/3
    # t = 0.67..1.00 (34 points): never reached -> 0
    # AP = (34 * 1 + 33 * 2/3) / 101 = 56/101
    assert interpolated_ap(np.array([True, False, True]), 3) == pytest.approx(56 / 101)
    # recall 0.07 exactly reaches t = 0.07 (no float loss): t = 0..0.07 -> 8 points
    assert interpolated_ap(np.ones(7, bool), 100) == pytest.approx(8 / 101)
    assert interpolated_ap(np.zeros(0, bool), 2) == 0.0
    assert interpolated_ap(np.array([True]), 1) == pytest.approx(1.0)


def test_interpolated_ap_starts_at_recall_0_precision_1() -> None:
    # The released compute_ap (PartSLIP2 eval/eval_utils.py) prepends (recall 0, precision 1);
    # METHODS §1.6.2 omits it. One GT instance, ranks FP, TP:
    # curve (0, 1), (0, 0), (1, 1/2): t = 0 -> 1 (the start point); t = 0.01..1 (100 points) -> 1/2
    # AP = (1 + 100 * 1/2) / 101 = 51/101 = 0.50495 (0.5 without the start point)
    assert interpolated_ap(np.array([False, True]), 1) == pytest.approx(51 / 101)
    assert interpolated_ap(np.array([False, True]), 1) == pytest.approx(0.50495, abs=5e-6)
    # [FP] alone: only t = 0 is reached (by the start point) -> 1/101 = 0.0099 (0 without it)
    assert interpolated_ap(np.array([False]), 1) == pytest.approx(1 / 101)
    assert interpolated_ap(np.array([False]), 1) == pytest.approx(0.0099, abs=5e-5)
    # FP, FP, TP with 2 GT: t = 0 -> 1; t = 0.01..0.50 (50 points) -> 1/3; t > 0.5 -> 0
    assert interpolated_ap(np.array([False, False, True]), 2) == pytest.approx((1 + 50 / 3) / 101)


def _reference_ap(tp: list[bool], n_gt: int, steps: int = 100) -> Fraction:
    """compute_ap of the released code, transcribed with exact fractions (no float rounding)."""
    cum = [sum(tp[: i + 1]) for i in range(len(tp))]
    rec = [Fraction(0)] + [Fraction(c, n_gt) for c in cum]
    prec = [Fraction(1)] + [Fraction(c, i + 1) for i, c in enumerate(cum)]
    total = Fraction(0)
    for k in range(steps + 1):
        t = Fraction(k, steps)
        total += max((p for r, p in zip(rec, prec, strict=True) if r >= t), default=Fraction(0))
    return total / (steps + 1)


def test_interpolated_ap_matches_reference_transcription() -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        n_gt = int(rng.integers(1, 8))
        tp = rng.random(int(rng.integers(1, 12))) < 0.5
        tp[np.cumsum(tp) > n_gt] = False  # never more TPs than GT instances
        want = float(_reference_ap(tp.tolist(), n_gt))
        assert interpolated_ap(tp, n_gt) == pytest.approx(want, abs=1e-12)


# one part "p" (0); GT instance 0 = points 0-3; points 4-9 are not a part
GT_SEM = a(0, 0, 0, 0, -1, -1, -1, -1, -1, -1)
GT_INS = a(0, 0, 0, 0, -1, -1, -1, -1, -1, -1)
# prediction instance 0 = points 4-7 (IoU 0, FP), instance 1 = points 0-3 (IoU 1, TP)
PRED_SEM = a(0, 0, 0, 0, 0, 0, 0, 0, -1, -1)
PRED_INS = a(1, 1, 1, 1, 0, 0, 0, 0, -1, -1)


def test_ap_fp_before_tp() -> None:
    # default confidence 1.0 -> list order (instance id): FP then TP
    # precision 0, 1/2 ; recall 0, 1 -> max precision at recall >= t is 1/2 for t = 0.01..1, and
    # 1 at t = 0 from the curve's start point (recall 0, precision 1) -> (1 + 100/2) / 101
    acc = InstanceAP(["p"])
    acc.add(PRED_SEM, PRED_INS, GT_SEM, GT_INS)
    assert acc.per_part() == pytest.approx({"p": 51 / 101})
    assert acc.category_map() == pytest.approx(0.50495, abs=5e-6)
    # the FP alone (instance 0 only): 1/101 from the start point
    acc = InstanceAP(["p"])
    acc.add(PRED_SEM, np.where(PRED_INS == 0, 0, -1), GT_SEM, GT_INS)
    assert acc.category_map() == pytest.approx(1 / 101)
    # a confidence array (indexed by instance id) ranks the TP first -> AP 1
    acc = InstanceAP(["p"])
    acc.add(PRED_SEM, PRED_INS, GT_SEM, GT_INS, confidence=np.array([0.2, 0.9]))
    assert acc.category_map() == pytest.approx(1.0)


def test_ap_used_gt_cannot_match_twice() -> None:
    # GT: g0 = points 0-5 (6 pts), g1 = points 6-8 (3 pts), both part 0
    gt_sem = a(0, 0, 0, 0, 0, 0, 0, 0, 0)
    gt_ins = a(0, 0, 0, 0, 0, 0, 1, 1, 1)
    # pred A = points 0-3: IoU(A, g0) = 4/6 -> TP, g0 used
    # pred B = points 4-6: IoU(B, g0) = 2/(3+6-2) = 2/7 ~ 0.286 (g0 already used)
    #                      IoU(B, g1) = 1/(3+3-1) = 1/5 -> best unused is g1, 0.2 < 0.25 -> FP
    # (a matcher that reused g0 would call B a TP at threshold 0.25)
    pred_sem = a(0, 0, 0, 0, 0, 0, 0, -1, -1)
    pred_ins = a(0, 0, 0, 0, 1, 1, 1, -1, -1)
    acc = InstanceAP(["p"], iou_threshold=0.25)
    acc.add(pred_sem, pred_ins, gt_sem, gt_ins)
    # TP, FP with 2 GT: precision 1, 1/2 ; recall 1/2, 1/2 -> t = 0..0.50 (51 points) -> 1
    assert acc.category_map() == pytest.approx(51 / 101)


def test_ap_picks_highest_iou_unused_gt() -> None:
    # g0 = points 0-1, g1 = points 2-5; pred = points 1-5: IoU g0 = 1/6, g1 = 4/5 -> TP on g1
    gt_sem = a(0, 0, 0, 0, 0, 0)
    gt_ins = a(0, 0, 1, 1, 1, 1)
    pred_sem = a(-1, 0, 0, 0, 0, 0)
    pred_ins = a(-1, 0, 0, 0, 0, 0)
    acc = InstanceAP(["p"])
    acc.add(pred_sem, pred_ins, gt_sem, gt_ins)
    # one TP, 2 GT: precision 1 up to recall 1/2 -> 51/101
    assert acc.category_map() == pytest.approx(51 / 101)


def test_ap_invalid_gt_points_removed_from_predictions() -> None:
    # GT instance 0 = points 0-3 (part 0); GT instance 1 = points 4-7 with semantic -1 -> invalid,
    # its points are "other"
    gt_sem = a(0, 0, 0, 0, -1, -1, -1, -1)
    gt_ins = a(0, 0, 0, 0, 1, 1, 1, 1)
    # pred = all 8 points as part 0: raw IoU 4/8 = 0.5 (not > 0.5, would be FP);
    # with the "other" points removed: 4/4 = 1 -> TP
    pred_sem = a(0, 0, 0, 0, 0, 0, 0, 0)
    pred_ins = a(0, 0, 0, 0, 0, 0, 0, 0)
    acc = InstanceAP(["p"])
    acc.add(pred_sem, pred_ins, gt_sem, gt_ins)
    assert acc.n_gt() == {"p": 1}  # the invalid instance is not counted
    assert acc.category_map() == pytest.approx(1.0)


def test_ap_gt_instance_labelled_by_first_point() -> None:
    # GT instance 0 = points 0-2 with semantics 1, 0, 0 -> labelled part 1 (its first point);
    # GT instance 1 = points 3-4 with semantics -1, 0 -> invalid (first point is -1)
    gt_sem = a(1, 0, 0, -1, 0)
    gt_ins = a(0, 0, 0, 1, 1)
    acc = InstanceAP(["p", "q"])
    # one prediction of part q on points 0-2 -> TP for q; nothing predicted for p
    acc.add(a(1, 1, 1, -1, -1), a(0, 0, 0, -1, -1), gt_sem, gt_ins)
    assert acc.n_gt() == {"p": 0, "q": 1}
    assert acc.per_part() == pytest.approx({"q": 1.0})  # p has no GT -> excluded


def test_ap_no_prediction_is_zero_and_parts_without_gt_excluded() -> None:
    # parts p (0), q (1), r (2); GT: one p instance (0-1), one q instance (2-3); no r
    gt_sem = a(0, 0, 1, 1, -1)
    gt_ins = a(0, 0, 1, 1, -1)
    # predicted: exact p; nothing for q; a spurious r on point 4
    acc = InstanceAP(["p", "q", "r"])
    acc.add(a(0, 0, -1, -1, 2), a(0, 0, -1, -1, 1), gt_sem, gt_ins)
    assert acc.per_part() == pytest.approx({"p": 1.0, "q": 0.0})
    assert acc.category_map() == pytest.approx(0.5)


def test_ap_accumulates_over_shapes() -> None:
    # shape 1: exact prediction (TP); shape 2: prediction on the wrong points (FP)
    gt_sem, gt_ins = a(0, 0, -1, -1), a(0, 0, -1, -1)
    acc = InstanceAP(["p"])
    acc.add(a(0, 0, -1, -1), a(0, 0, -1, -1), gt_sem, gt_ins)
    acc.add(a(-1, -1, 0, 0), a(-1, -1, 0, 0), gt_sem, gt_ins)
    # ranks TP, FP over 2 GT instances -> precision 1 up to recall 1/2 -> 51/101
    assert acc.category_map() == pytest.approx(51 / 101)
    assert len(acc) == 2


def test_ap_errors() -> None:
    acc = InstanceAP(["p"])
    with pytest.raises(InputError, match="no shapes"):
        acc.category_map()
    with pytest.raises(InputError, match="one confidence per instance id"):
        acc.add(PRED_SEM, PRED_INS, GT_SEM, GT_INS, confidence=np.array([1.0]))
    with pytest.raises(InputError, match="one label per point"):
        acc.add(PRED_SEM[:3], PRED_INS, GT_SEM, GT_INS)
    with pytest.raises(InputError, match="iou_threshold"):
        InstanceAP(["p"], iou_threshold=1.5)
    acc.add(a(0), a(0), a(-1), a(-1))
    with pytest.raises(InputError, match="undefined"):
        acc.category_map()


# ---------------------------------------------------------------- ShapeNetPart (§1.6.3)


def test_shapenetpart_hand_computed() -> None:
    # gt 0,0,1,1 ; pred 0,1,1,1 ; 3 parts
    # part 0: inter 1, union 2 -> 1/2 ; part 1: inter 2, union 3 -> 2/3
    # part 2: absent in both -> 1 ; shape mIoU = (1/2 + 2/3 + 1) / 3 = 13/18
    np.testing.assert_allclose(
        shapenetpart_shape_iou(a(0, 1, 1, 1), a(0, 0, 1, 1), 3), [1 / 2, 2 / 3, 1.0]
    )
    assert shapenetpart_shape_miou(a(0, 1, 1, 1), a(0, 0, 1, 1), 3) == pytest.approx(13 / 18)
    # predicted but absent from GT is penalised: gt 0,0,1,1 ; pred 0,0,2,2
    # part 0: 1 ; part 1: 0/2 = 0 ; part 2: 0/2 = 0 -> 1/3
    acc = ShapeNetPartIoU(["x", "y", "z"])
    assert acc.add(a(0, 1, 1, 1), a(0, 0, 1, 1), name="s1") == pytest.approx(13 / 18)
    assert acc.add(a(0, 0, 2, 2), a(0, 0, 1, 1), name="s2") == pytest.approx(1 / 3)
    # category = mean over shapes = (13/18 + 6/18) / 2 = 19/36
    assert acc.category_miou() == pytest.approx(19 / 36)
    assert acc.per_shape() == [("s1", pytest.approx(13 / 18)), ("s2", pytest.approx(1 / 3))]
    assert acc.per_part() == pytest.approx({"x": 0.75, "y": 1 / 3, "z": 0.5})


def test_shapenetpart_errors() -> None:
    with pytest.raises(InputError, match="no shapes"):
        ShapeNetPartIoU(["x"]).category_miou()
    with pytest.raises(InputError, match="n_parts"):
        shapenetpart_shape_iou(a(0), a(0), 0)


# ---------------------------------------------------------------- aggregation


def test_overall_and_groups() -> None:
    assert overall({"A": 0.2, "B": 0.4}) == pytest.approx(0.3)
    g = group_means({"Chair": 0.5, "Bottle": 0.3, "Mouse": 0.9})
    assert g == pytest.approx({"17": 0.4, "28": 0.9, "all": 1.7 / 3})
    assert group_means({"Mouse": 0.9}) == pytest.approx({"28": 0.9, "all": 0.9})
    with pytest.raises(InputError, match="Chair"):
        group_means({"chair": 0.5})
    with pytest.raises(InputError, match="non-empty"):
        overall({})
    with pytest.raises(InputError, match="nan"):
        overall({"A": float("nan")})
