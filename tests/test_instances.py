"""PartSLIP instance grouping (METHODS §2.5): hand-made merges, the instance filter, id order and
loop-reference parity."""

from __future__ import annotations

import numpy as np
import pytest

from partlift.errors import InputError
from partlift.lifting.instances import group_instances, superpoint_boxes_3d
from partlift.lifting.reference import group_instances_reference
from partlift.lifting.voting import VoteConfig, partslip_labels
from test_voting import make_preds, make_views, random_case


def two_plus_one(n1: int = 3, gap: float = 0.01, extra_box: bool = False):
    """Superpoints 0 and 1 side by side (3D gap ``gap``), superpoint 2 far away; one view.

    Box 0 (part 0) holds the projections of superpoints 0 and 1 exactly, box 1 (part 0) those
    of superpoint 2. Superpoint 0 has 3 points, superpoint 1 ``n1``, superpoint 2 has 3.
    ``extra_box`` adds box 2 (part 0) over superpoint 0 only.
    """
    rng = np.random.default_rng(0)
    xyz0 = np.array([[0.0, 0, 0], [0.1, 0, 0], [0.05, 0.1, 0]])
    xyz1 = np.c_[rng.uniform(0.1 + gap, 0.2, n1), rng.uniform(0, 0.1, n1), np.zeros(n1)]
    xyz1[0, 0] = 0.1 + gap
    xyz2 = np.array([[0.5, 0, 0], [0.6, 0, 0], [0.55, 0.1, 0]])
    scr0 = [[5, 5], [9, 9], [5, 9]]
    scr1 = np.c_[rng.uniform(10, 14, n1), rng.uniform(5, 9, n1)]
    scr1[:2] = [[10, 5], [14, 9]]
    scr2 = [[30, 30], [34, 34], [30, 34]]
    xyz = np.concatenate([xyz0, xyz1, xyz2]).astype(np.float32)
    screen = np.concatenate([scr0, scr1, scr2])[None]
    sp = np.r_[0, 0, 0, np.ones(n1, np.int64), 2, 2, 2]
    views = make_views(screen, np.ones((1, sp.size), bool))
    boxes = [[4, 4, 15, 10], [29.5, 29.5, 34.5, 34.5]] + ([[4, 4, 9.5, 9.5]] if extra_box else [])
    preds = make_preds([0] * len(boxes), [0] * len(boxes), boxes, ("leg", "seat"))
    return views, preds, sp, xyz


def instance_of_superpoints(inst: np.ndarray, sp: np.ndarray) -> list[int]:
    out = []
    for k in range(sp.max() + 1):
        ids = np.unique(inst[sp == k])
        assert ids.size == 1, "every point of a superpoint gets the same instance"
        out.append(int(ids[0]))
    return out


def test_adjacent_superpoints_with_equal_coverage_merge():
    views, preds, sp, xyz = two_plus_one()
    labels = np.array([0, 0, 0])
    inst = group_instances(views, preds, sp, labels, xyz)
    # r_0 = r_1 = (1, 0): distance 0, sizes equal, gap 0.01 < 0.02 -> merged into instance 0;
    # superpoint 2 is alone; its box (29.5..34.5)^2 vs its points (30..34)^2 has IoU 0.64.
    assert instance_of_superpoints(inst, sp) == [0, 0, 1]
    np.testing.assert_array_equal(inst, group_instances_reference(views, preds, sp, labels, xyz))


def test_no_merge_when_not_adjacent():
    views, preds, sp, xyz = two_plus_one(gap=0.03)
    inst = group_instances(views, preds, sp, np.array([0, 0, 0]), xyz)
    # Neither superpoint alone matches box 0 (IoU 36/66 for the pair; 16/66 and 16/66 alone).
    assert instance_of_superpoints(inst, sp) == [-1, -1, 0]


def test_no_merge_when_coverage_differs():
    views, preds, sp, xyz = two_plus_one(extra_box=True)
    # r_0 = (1, 0, 1), r_1 = (1, 0, 0): distance 1 / 2 = 0.5 >= 0.2. Superpoint 0 alone matches
    # box 2 (its points span (5..9)^2, box 2 is (4..9.5)^2: IoU 16 / 30.25 > 0.5).
    inst = group_instances(views, preds, sp, np.array([0, 0, 0]), xyz)
    assert instance_of_superpoints(inst, sp) == [0, -1, 1]


@pytest.mark.parametrize("n1, merged", [(299, True), (300, False)])
def test_size_ratio_limit(n1, merged):
    # |P_0| = 3: ratio 299 / 3 < 100 merges, 300 / 3 = 100 does not.
    views, preds, sp, xyz = two_plus_one(n1=n1)
    config = VoteConfig(whole_object_ratio=1.5)  # box 0 holds > 98% of the points here
    labels = np.array([0, 0, 0])
    got = instance_of_superpoints(group_instances(views, preds, sp, labels, xyz, config), sp)
    assert got == ([0, 0, 1] if merged else [-1, -1, 0])


def test_ids_are_consecutive_over_parts_and_unlabelled_gets_none():
    views, preds, sp, xyz = two_plus_one()
    # Part 1 ("seat") for superpoints 0 and 1 with box 0 relabelled, part 0 for superpoint 2.
    preds = make_preds([0, 0], [1, 0], preds.boxes, ("leg", "seat"))
    inst = group_instances(views, preds, sp, np.array([1, 1, 0]), xyz)
    assert instance_of_superpoints(inst, sp) == [1, 1, 0]
    inst = group_instances(views, preds, sp, np.array([1, -1, 0]), xyz)
    assert instance_of_superpoints(inst, sp) == [-1, -1, 0]


def test_instance_filter_uses_whole_object_boxes_too():
    # One superpoint is the whole object; its only box covers every point, so it is dropped for
    # voting (§2.3) but still validates the instance (§2.5 step 4).
    xy = np.array([[[5, 5], [20, 20], [5, 20], [20, 5], [12, 12]]])
    views = make_views(xy, np.ones((1, 5), bool))
    preds = make_preds([0], [0], [[4, 4, 21, 21]], ("body",))
    xyz = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    sp = np.zeros(5, np.int64)
    np.testing.assert_array_equal(group_instances(views, preds, sp, np.array([0]), xyz), 0)
    res = partslip_labels(views, preds, sp, xyz)
    assert (res.semantic == -1).all()  # no vote: the box was filtered
    other = make_preds([0], [0], [[4, 4, 8, 8]], ("body",))
    np.testing.assert_array_equal(group_instances(views, other, sp, np.array([0]), xyz), -1)


def test_superpoint_boxes_3d_with_unused_id():
    xyz = np.array([[0, 0, 0], [1, 2, 3], [-1, 0, 5]], np.float32)
    lo, hi = superpoint_boxes_3d(xyz, np.array([0, 0, 2]))
    np.testing.assert_array_equal(lo[[0, 2]], [[0, 0, 0], [-1, 0, 5]])
    np.testing.assert_array_equal(hi[[0, 2]], [[1, 2, 3], [-1, 0, 5]])
    assert np.isposinf(lo[1]).all() and np.isneginf(hi[1]).all()


RELAXED = VoteConfig(merge_distance=0.6, instance_iou=0.3, adjacency=0.1)


def mixed_labels(views, preds, sp, xyz, seed):
    """Voted superpoint labels, with a random label for a third of the superpoints."""
    rng = np.random.default_rng(seed)
    labels = np.full(sp.max() + 1, -1)
    labels[sp] = partslip_labels(views, preds, sp, xyz).semantic
    swap = rng.random(labels.size) < 1 / 3
    labels[swap] = rng.integers(-1, len(preds.part_names), swap.sum())
    return labels


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "config",
    [VoteConfig(), VoteConfig(aabb_zero_area_quirk=False), RELAXED],
    ids=["partslip", "fixed", "relaxed"],
)
def test_grouping_matches_loop_reference_on_random_labels(seed, config):
    views, preds, sp, xyz = random_case(seed)
    labels = mixed_labels(views, preds, sp, xyz, seed)
    a = group_instances(views, preds, sp, labels, xyz, config)
    np.testing.assert_array_equal(a, group_instances_reference(views, preds, sp, labels, xyz, config))


def test_random_labels_exercise_merges_and_drops():
    views, preds, sp, xyz = random_case(0)
    labels = mixed_labels(views, preds, sp, xyz, 0)
    inst = group_instances(views, preds, sp, labels, xyz, RELAXED)
    sizes = np.bincount(np.unique(np.c_[inst, sp][inst >= 0], axis=0)[:, 0])
    assert (sizes > 1).any()  # some instance merged several superpoints
    assert ((labels[sp] >= 0) & (inst == -1)).any()  # some candidates were dropped


def test_sp_labels_are_validated():
    views, preds, sp, xyz = random_case(0)
    m = sp.max() + 1
    with pytest.raises(InputError, match="sp_labels"):
        group_instances(views, preds, sp, np.zeros(m - 1, np.int64), xyz)
    with pytest.raises(InputError, match="sp_labels"):
        group_instances(views, preds, sp, np.full(m, 9), xyz)
    with pytest.raises(InputError, match="xyz"):
        group_instances(views, preds, sp, np.zeros(m, np.int64), xyz.astype(np.float64)[:-1])
