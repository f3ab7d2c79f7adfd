"""PartDistill losses (METHODS §4.4) and re-scoring (§4.5): hand-computed cases and dense references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from partlift.distill.losses import (
    class_weights,
    forward_loss,
    forward_loss_dense_reference,
    rescore,
    rescore_reference,
)
from partlift.errors import InputError


def test_class_weights_hand_computed():
    # 6 pairs of class 0, 2 of class 1, none of class 2; C = 3, total 8.
    cls = torch.tensor([0] * 6 + [1] * 2)
    w = class_weights(cls, 3)
    w0 = min(max(math.log(8 / (3 * 6), 4) + 1, 1), 4)  # log4(0.444) + 1 = 0.415 -> clipped to 1
    w1 = min(max(math.log(8 / (3 * 2), 4) + 1, 1), 4)  # log4(1.333) + 1 = 1.2075
    assert w.tolist() == pytest.approx([w0, w1, 4.0], abs=1e-6)
    assert w0 == 1.0 and w1 == pytest.approx(1.2075, abs=1e-4)


def test_class_weights_no_pairs_gives_max():
    assert class_weights(torch.zeros(0, dtype=torch.long), 2).tolist() == [4.0, 4.0]


def test_forward_loss_hand_computed_single_point():
    # One point, logits 0 (uniform over 2 classes), covered by two predictions of class 0 and 1
    # with confidences 0.5 and 1.0; a second point uncovered. ω: each class has 1 pair -> ratio
    # 2/(2*1) = 1 -> log 0 + 1 = 1.
    logits = torch.zeros(2, 2)
    loss = forward_loss(logits, torch.tensor([0, 0]), torch.tensor([0, 1]), torch.tensor([0.5, 1.0]))
    expected = (0.5 * math.log(2) + 1.0 * math.log(2)) / 2 / 2  # / #covering / #points
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def _random_dense(seed: int, b=2, n=7, d=5, c=3):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, n, c, generator=g, dtype=torch.float64)
    covered = torch.rand(b, n, d, generator=g) < 0.4
    conf = torch.where(covered, 0.5 + 0.5 * torch.rand(b, n, d, generator=g, dtype=torch.float64),
                       torch.zeros((), dtype=torch.float64))
    cls = torch.randint(0, c, (b, d), generator=g)
    cls[:, 0] = 0  # make sure some class is frequent
    return logits, conf, cls


def _sparse(conf, cls):
    b, n, d = conf.shape
    bi, i, j = torch.nonzero(conf > 0, as_tuple=True)
    return bi * n + i, cls[bi, j], conf[bi, i, j], (bi, i, j)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_forward_loss_matches_dense_reference(seed):
    logits, conf, cls = _random_dense(seed)
    pp, pc, pw, _ = _sparse(conf, cls)
    got = forward_loss(logits.reshape(-1, logits.shape[-1]), pp, pc, pw)
    ref = forward_loss_dense_reference(logits, conf, cls)
    assert float(got) == pytest.approx(float(ref), rel=1e-9)


def test_backward_mode_keeps_mask_when_rescored_zero():
    # Re-scored weights replace confidences; a pair whose κ′ is 0 still counts in the denominator.
    logits, conf, cls = _random_dense(5)
    pp, pc, pw, (bi, i, j) = _sparse(conf, cls)
    kappa = torch.rand(conf.shape[0], conf.shape[-1], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    kappa[:, 1] = 0.0
    weight = kappa[:, None, :].expand_as(conf)
    got = forward_loss(logits.reshape(-1, 3), pp, pc, kappa[bi, j])
    ref = forward_loss_dense_reference(logits, conf, cls, weight=weight)
    assert float(got) == pytest.approx(float(ref), rel=1e-9)


def test_uncovered_points_give_no_gradient_but_count():
    logits = torch.zeros(4, 3, requires_grad=True)
    loss = forward_loss(logits, torch.tensor([1]), torch.tensor([2]), torch.tensor([1.0]))
    loss.backward()
    assert torch.all(logits.grad[[0, 2, 3]] == 0)
    assert torch.any(logits.grad[1] != 0)
    # the mean is over all 4 points: ω = 1 (single class), CE = log 3
    assert float(loss.detach()) == pytest.approx(math.log(3) / 4, rel=1e-6)


def test_rescore_hand_computed():
    # 5 points, student labels; prediction 0 (class 1) covers points 0,1,2 (student: 1,1,0) -> 2/3;
    # prediction 1 (class 0) covers point 4 (student 2) -> 0; prediction 2 covers nothing -> 0.
    student = np.array([1, 1, 0, 0, 2])
    pair_point = np.array([0, 1, 2, 4])
    pair_pred = np.array([0, 0, 0, 1])
    pred_class = np.array([1, 0, 2])
    got = rescore(student, pair_point, pair_pred, pred_class)
    assert got.tolist() == pytest.approx([2 / 3, 0.0, 0.0])
    # true IoU: prediction 0: inter 2, |M| 3, |S_1| 2 -> 2 / 3; prediction 1: inter 0 -> 0
    iou = rescore(student, pair_point, pair_pred, pred_class, mode="iou")
    assert iou.tolist() == pytest.approx([2 / 3, 0.0, 0.0])


@pytest.mark.parametrize("mode", ["agree", "iou"])
def test_rescore_matches_reference(mode):
    rng = np.random.default_rng(0)
    m, d, c = 60, 9, 4
    covered = rng.random((d, m)) < 0.3
    student = rng.integers(0, c, m)
    pred_class = rng.integers(0, c, d)
    rows, cols = np.nonzero(covered)
    got = rescore(student, cols, rows, pred_class, mode=mode)
    ref = rescore_reference(student, covered, pred_class, mode=mode)
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_rescore_rejects_bad_mode():
    with pytest.raises(InputError, match="mode"):
        rescore(np.zeros(2, int), np.zeros(0, int), np.zeros(0, int), np.zeros(1, int), mode="x")


def test_class_weights_null_excluded_from_balance():
    # classes 0, 1 (parts) and 2 (null): 2 pairs of part 0, 2 of part 1, 20 null pairs.
    cls = torch.tensor([0, 0, 1, 1] + [2] * 20)
    with_null = class_weights(cls, 3)
    assert with_null.tolist() == pytest.approx([2.0, 2.0, 1.0])  # log4(24 / (3 * 2)) + 1 = 2
    balanced = class_weights(cls, 3, null_class=2)
    assert balanced.tolist() == pytest.approx([1.0, 1.0, 1.0])
    # one-part category: the part is not boosted against the null output
    assert class_weights(torch.tensor([0] + [1] * 9), 2, null_class=1).tolist() == pytest.approx([1.0, 1.0])
