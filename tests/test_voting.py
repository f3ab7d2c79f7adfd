"""PartSLIP voting (METHODS §2.3–2.4): hand-computed cases, corner cases and loop-reference parity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from partlift.data.synthetic import generate
from partlift.errors import InputError
from partlift.geometry import ensure_normals, normalize
from partlift.lifting import incidence
from partlift.lifting.reference import (
    label_superpoints_reference,
    partslip_labels_reference,
    vote_superpoints_reference,
)
from partlift.lifting.voting import (
    VoteConfig,
    label_superpoints,
    partslip_labels,
    priority_order,
    relative_part_sizes,
    vote_superpoints,
    whole_object_boxes,
)
from partlift.render import render
from partlift.superpoints import superpoints_for_shape
from partlift.teachers.registry import build_teacher
from partlift.types import Camera, Predictions, Views

SIZE = 48  # image side of the hand-made and random cases, px


def make_views(screen_xy: np.ndarray, visible: np.ndarray, size: int = SIZE) -> Views:
    """Views with only the fields voting reads filled in (screen_xy (V, N, 2), visible (V, N))."""
    v, n = visible.shape
    return Views(
        rgb=np.zeros((v, size, size, 3), np.uint8),
        pix2point=np.full((v, size, size), -1, np.int64),
        screen_xy=np.asarray(screen_xy, np.float32),
        visible=np.asarray(visible, bool),
        depth=np.ones((v, n), np.float32),
        cameras=tuple(Camera(0.0, 90.0 * i, 2.2, 60.0) for i in range(v)),
    )


def make_preds(view, label, boxes, part_names, size: int = SIZE) -> Predictions:
    d = len(view)
    return Predictions(
        view=np.asarray(view, np.int64),
        label=np.asarray(label, np.int64),
        score=np.ones(d, np.float32),
        boxes=np.asarray(boxes, np.float32).reshape(d, 4),
        features=np.zeros((d, 1), np.float32),
        part_names=tuple(part_names),
        image_size=(size, size),
    )


def random_case(seed: int, n: int = 500, n_views: int = 4, n_parts: int = 4):
    """Adversarial random inputs on a half-pixel grid (ties with box edges, degenerate and collinear
    superpoint boxes), with singletons, an unused superpoint id and whole-object boxes.

    Points form 10 spatial clusters, each with a "true" part; superpoints are nearest-seed cells.
    Boxes surround the visible points of a superpoint and 0-2 of its 3D neighbours (jittered by
    0-1 px, labelled with the true part 80% of the time), plus random and whole-object boxes.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (10, 3))
    cluster = rng.integers(10, size=n)
    xyz = centres[cluster] + rng.normal(0, 0.12, (n, 3))
    xyz = (xyz - xyz.mean(0)) / np.linalg.norm(xyz - xyz.mean(0), axis=1).max()
    seeds = xyz[rng.choice(n, 40, replace=False)]
    sp = np.argmin(((xyz[:, None] - seeds[None]) ** 2).sum(-1), axis=1)
    sp[rng.choice(n, 6, replace=False)] = 40 + np.arange(6)  # singletons
    sp = np.where(sp >= 7, sp + 1, sp)  # id 7 unused
    m = sp.max() + 1
    used = np.flatnonzero(np.bincount(sp, minlength=m))
    part_of_cluster = rng.integers(n_parts, size=10)
    true_part = np.zeros(m, np.int64)
    centroid = np.zeros((m, 3))
    for k in used:
        true_part[k] = part_of_cluster[np.bincount(cluster[sp == k]).argmax()]
        centroid[k] = xyz[sp == k].mean(0)
    screen = np.zeros((n_views, n, 2))
    for v in range(n_views):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        p = xyz @ q[:, :2]
        screen[v] = np.round((p - p.min(0)) / np.ptp(p, 0) * (SIZE - 6) * 2) / 2 + 3
    visible = rng.random((n_views, n)) < 0.7
    for v in range(n_views):  # some superpoints seen as one point, some as a vertical line
        for k in rng.choice(used, 4, replace=False):
            pts = np.flatnonzero(sp == k)
            visible[v, pts] = False
            visible[v, pts[0]] = True
        for k in rng.choice(used, 3, replace=False):
            screen[v, sp == k, 0] = screen[v, sp == k, 0].mean().round()
    view, label, boxes = [], [], []
    for v in range(n_views):
        for k in rng.choice(used, 12, replace=False):
            near = np.argsort(((centroid[used] - centroid[k]) ** 2).sum(1))[: rng.integers(1, 6)]
            pts = np.flatnonzero(np.isin(sp, used[near]) & visible[v])
            if pts.size == 0:
                continue
            lo = screen[v, pts].min(0) - rng.choice([0.0, 0.5, 1.0], 2)
            hi = screen[v, pts].max(0) + rng.choice([0.0, 0.5, 1.0], 2)
            view.append(v)
            label.append(true_part[k] if rng.random() < 0.8 else rng.integers(n_parts))
            boxes.append([*lo, *hi])
        for _ in range(2):
            a, b = np.sort(rng.integers(0, SIZE, 2)), np.sort(rng.integers(0, SIZE, 2))
            view.append(v)
            label.append(rng.integers(n_parts))
            boxes.append([a[0], b[0], a[1], b[1]])
        if v % 2 == 0:
            view.append(v)
            label.append(rng.integers(n_parts))
            boxes.append([0, 0, SIZE, SIZE])
    names = ("arm", "back", "handle", "wheel", "seat", "leg")[:n_parts]
    return make_views(screen, visible), make_preds(view, label, boxes, names), sp, xyz.astype(np.float32)


def assert_votes_equal(a, b) -> None:
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.visible_count, b.visible_count)
    np.testing.assert_array_equal(a.n_points, b.n_points)
    np.testing.assert_array_equal(a.kept, b.kept)
    np.testing.assert_array_equal(a.relative_size, b.relative_size)


# --------------------------------------------------------------------------- hand-computed


def hand_case():
    """3 superpoints, 2 views, 2 parts ("back", "handle").

    superpoint 0 = points 0, 1, 2; superpoint 1 = points 3, 4; superpoint 2 = point 5.
    view 0: points 0-4 visible. Box A (back) (0, 0, 10, 10) holds points 0, 1 and 3; box B
    (handle) (5, 5, 20, 20) holds points 1, 2, 3, 4 (points 1 and 3 are in both boxes).
    view 1: points 0, 1, 3, 4 visible; box C (back) (0, 0, 30, 30) holds all four.
    Point 5 is never visible. No superpoint box is degenerate, so the IoU shortcut never fires.
    """
    xy0 = [[2, 2], [6, 6], [12, 12], [8, 8], [15, 15], [40, 40]]
    xy1 = [[5, 5], [7, 9], [45, 45], [10, 10], [20, 20], [40, 40]]
    visible = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 0, 1, 1, 0]], bool)
    views = make_views(np.array([xy0, xy1]), visible)
    preds = make_preds(
        [0, 0, 1], [0, 1, 0], [[0, 0, 10, 10], [5, 5, 20, 20], [0, 0, 30, 30]], ("back", "handle")
    )
    sp = np.array([0, 0, 0, 1, 1, 2])
    return views, preds, sp


def test_hand_computed_three_superpoint_vote():
    views, preds, sp = hand_case()
    votes = vote_superpoints(views, preds, sp)
    eps = 1e-6
    # superpoint 0: visible (point, view) pairs: 0, 1, 2 in v0 and 0, 1 in v1 = 5.
    #   back: v0 points 0, 1 in A; v1 points 0, 1 in C -> 4.  handle: v0 points 1, 2 in B -> 2.
    # superpoint 1: pairs 3, 4 in v0 and 3, 4 in v1 = 4.
    #   back: v0 point 3 in A; v1 points 3, 4 in C -> 3.  handle: v0 points 3, 4 in B -> 2.
    # superpoint 2: never visible -> 0, 0.
    expected = np.array([[4 / (5 + eps), 2 / (5 + eps)], [3 / (4 + eps), 2 / (4 + eps)], [0, 0]])
    np.testing.assert_array_equal(votes.scores, expected)
    np.testing.assert_array_equal(votes.visible_count, [5, 4, 0])
    np.testing.assert_array_equal(votes.n_points, [3, 2, 1])
    assert votes.kept.all()
    # 0.8 and 0.75 for back; handle gets 2 / (4 + 1e-6), just below 0.5, so the small-part
    # priority does not apply; the never-seen superpoint stays -1.
    labels = label_superpoints(votes.scores, preds.part_names)
    np.testing.assert_array_equal(labels, [0, 0, -1])
    assert_votes_equal(votes, vote_superpoints_reference(views, preds, sp))


def test_single_visible_point_gets_no_votes_from_that_view_by_default():
    # The hand case with point 1 hidden in view 1: superpoint 0 is seen there as one point, so
    # box C gives it nothing (METHODS §2.4 caveat) though the pair counts in the denominator.
    views, preds, sp = hand_case()
    visible = views.visible.copy()
    visible[1, 1] = False
    views = dataclasses.replace(views, visible=visible)
    eps = 1e-6
    votes = vote_superpoints(views, preds, sp)
    np.testing.assert_array_equal(votes.scores[0], [2 / (4 + eps), 2 / (4 + eps)])
    fixed = vote_superpoints(views, preds, sp, VoteConfig(aabb_zero_area_quirk=False))
    np.testing.assert_array_equal(fixed.scores[0], [3 / (4 + eps), 2 / (4 + eps)])


def test_each_visible_pair_votes_once_per_part():
    # Two overlapping "back" boxes over the same point count it once.
    views = make_views(np.array([[[5, 5], [30, 30]]]), np.array([[True, True]]))
    preds = make_preds([0, 0], [0, 0], [[0, 0, 10, 10], [1, 1, 12, 12]], ("back",))
    votes = vote_superpoints(views, preds, np.array([0, 0]))
    np.testing.assert_array_equal(votes.scores, [[1 / (2 + 1e-6)]])


def test_points_on_a_box_edge_are_outside():
    views = make_views(np.array([[[10, 5], [5, 5], [5, 5.5]]]), np.array([[True, True, True]]))
    preds = make_preds([0], [0], [[0, 0, 10, 10]], ("back",))
    votes = vote_superpoints(views, preds, np.array([0, 0, 0]))
    np.testing.assert_array_equal(votes.scores, [[2 / (3 + 1e-6)]])


# --------------------------------------------------------------------------- labelling


def test_threshold_leaves_superpoints_unlabelled():
    scores = np.array([[0.49, 0.3], [0.5, 0.2], [0.0, 0.0], [0.4999999, 0.5]])
    np.testing.assert_array_equal(label_superpoints(scores, ("back", "seat")), [-1, 0, -1, 1])


def test_small_part_priority_picks_handle_over_door():
    scores = np.array([[0.9, 0.6], [0.9, 0.4], [0.55, 0.6]])
    names = ("door", "handle")
    np.testing.assert_array_equal(label_superpoints(scores, names), [1, 0, 1])
    none = VoteConfig(priority_mode="none")
    np.testing.assert_array_equal(label_superpoints(scores, names, none), [0, 0, 1])


def test_priority_scans_from_the_last_part_and_matches_names_case_insensitively():
    names = ("Knob", "door", "Handle")
    assert priority_order(names) == (2, 0)
    scores = np.array([[0.6, 0.9, 0.7], [0.6, 0.9, 0.1]])
    np.testing.assert_array_equal(label_superpoints(scores, names), [2, 0])
    custom = VoteConfig(small_part_names=("door",))
    np.testing.assert_array_equal(label_superpoints(scores, names, custom), [1, 1])


def test_size_priority_for_parts_outside_partnete():
    # A kettle with made-up part names: spout boxes are tiny, body and lid boxes are large.
    names = ("body", "spout", "lid")
    n = 200
    rng = np.random.default_rng(0)
    xy = rng.uniform(1, 47, (1, n, 2))
    views = make_views(xy, np.ones((1, n), bool))
    boxes = [[1, 1, 47, 47], [1, 1, 47, 30], [20, 20, 26, 26], [18, 18, 28, 28], [5, 5, 45, 20]]
    preds = make_preds([0] * 5, [0, 0, 1, 1, 2], boxes, names)
    config = VoteConfig(priority_mode="size", whole_object_ratio=1.5)
    rel = relative_part_sizes(views, preds, config)
    obj = np.ptp(xy[0, :, 0]) * np.ptp(xy[0, :, 1])
    assert rel[1] == pytest.approx(np.median([36, 100]) / obj)
    assert rel[0] > 0.5 and rel[2] > 0.2
    assert priority_order(names, config, rel) == (1,)
    scores = np.array([[0.9, 0.6, 0.0], [0.9, 0.3, 0.8]])
    np.testing.assert_array_equal(label_superpoints(scores, names, config, relative_size=rel), [1, 0])
    # Two small parts: the smaller first.
    two = VoteConfig(priority_mode="size", small_part_area=0.6)
    assert priority_order(names, two, np.array([0.7, 0.01, 0.3])) == (1, 2)
    with pytest.raises(InputError, match="relative_size"):
        label_superpoints(scores, names, two)
    # The PartNet-E name list has no say here.
    assert priority_order(("handle", "door"), config, np.array([0.9, 0.01])) == (1,)


def test_label_reference_agrees_on_random_scores():
    rng = np.random.default_rng(3)
    scores = rng.choice([0.0, 0.3, 0.5, 0.5 - 1e-9, 0.7, 0.9], size=(300, 5))
    names = ("arm", "wheel", "back", "handle", "seat")
    for config in (VoteConfig(), VoteConfig(priority_mode="none"), VoteConfig(vote_threshold=0.5 - 1e-4)):
        np.testing.assert_array_equal(
            label_superpoints(scores, names, config), label_superpoints_reference(scores, names, config)
        )


# --------------------------------------------------------------------------- corner cases


def test_zero_area_superpoint_box_quirk_and_fix():
    # Superpoint 0 is seen as one point, superpoint 1 as three points on a vertical line; both
    # lie inside the box. PartSLIP's IoU shortcut gives them no votes; the fix does.
    # Superpoint 2 (outside the box) keeps the box from covering the whole object.
    xy = np.array([[[10, 10], [20, 5], [20, 10], [20, 15], [40, 40], [42, 41], [44, 45]]])
    views = make_views(xy, np.ones((1, 7), bool))
    preds = make_preds([0], [0], [[0, 0, 30, 30]], ("back",))
    sp = np.array([0, 1, 1, 1, 2, 2, 2])
    quirk = vote_superpoints(views, preds, sp)
    assert quirk.kept.all()
    np.testing.assert_array_equal(quirk.scores, [[0.0], [0.0], [0.0]])
    np.testing.assert_array_equal(quirk.visible_count, [1, 3, 3])
    fixed = vote_superpoints(views, preds, sp, VoteConfig(aabb_zero_area_quirk=False))
    np.testing.assert_array_equal(fixed.scores, [[1 / (1 + 1e-6)], [3 / (3 + 1e-6)], [0.0]])


def test_whole_object_boxes_are_ignored_for_voting():
    n = 100
    xy = np.stack([np.linspace(1, 40, n), np.full(n, 10.0)], axis=1)[None]
    xy[0, :, 1] += np.arange(n) % 7  # not collinear
    views = make_views(xy, np.ones((1, n), bool))
    # Box 0 holds exactly 98 of 100 points (>= 0.98: dropped); box 1 holds 97 (kept).
    x = xy[0, :, 0]
    b0 = [x[1] - 0.01, 0, x[98] + 0.01, 47]
    b1 = [x[2] - 0.01, 0, x[98] + 0.01, 47]
    preds = make_preds([0, 0], [0, 1], [b0, b1], ("back", "seat"))
    np.testing.assert_array_equal(whole_object_boxes(views, preds, 0.98), [True, False])
    votes = vote_superpoints(views, preds, np.zeros(n, np.int64))
    np.testing.assert_array_equal(votes.kept, [False, True])
    assert votes.scores[0, 0] == 0 and votes.scores[0, 1] > 0.9


def test_whole_object_boxes_match_brute_force_fractions():
    rng = np.random.default_rng(5)
    for n in (1, 7, 50, 1000):
        xy = np.round(rng.uniform(0, SIZE, (2, n, 2)) * 2) / 2
        views = make_views(xy, np.ones((2, n), bool))
        boxes = np.sort(np.round(rng.uniform(-2, SIZE + 2, (60, 2, 2)) * 2) / 2, axis=1)
        boxes = boxes.transpose(0, 2, 1).reshape(60, 4)[:, [0, 2, 1, 3]]
        boxes[::3] = [-1, -1, SIZE + 1, SIZE + 1]
        preds = make_preds(rng.integers(0, 2, 60), np.zeros(60), boxes, ("a",))
        for ratio in (0.5, 0.9, 0.98, 1.0):
            frac = np.array([
                np.count_nonzero(
                    (xy[preds.view[d], :, 0] > boxes[d, 0]) & (xy[preds.view[d], :, 0] < boxes[d, 2])
                    & (xy[preds.view[d], :, 1] > boxes[d, 1]) & (xy[preds.view[d], :, 1] < boxes[d, 3])
                ) / n
                for d in range(60)
            ])
            np.testing.assert_array_equal(whole_object_boxes(views, preds, ratio), frac >= ratio)


def test_whole_object_filter_matches_coverage_module_when_present():
    coverage = pytest.importorskip("partlift.lifting.coverage")
    views, preds, _, _ = random_case(11)
    frac = coverage.whole_object_fraction(views, preds)
    np.testing.assert_array_equal(whole_object_boxes(views, preds, 0.98), frac >= 0.98)


def test_empty_predictions_give_unlabelled_points():
    views, preds, sp, xyz = random_case(0)
    empty = Predictions.empty(preds.part_names, preds.image_size, feature_dim=1)
    votes = vote_superpoints(views, empty, sp)
    assert votes.scores.shape == (sp.max() + 1, len(preds.part_names))
    assert not votes.scores.any()
    res = partslip_labels(views, empty, sp, xyz)
    assert (res.semantic == -1).all() and (res.instance == -1).all() and not res.scores.any()
    assert res.scores.shape == (sp.size, len(preds.part_names)) and res.scores.dtype == np.float32


def test_never_visible_superpoints_score_zero():
    views, preds, sp, xyz = random_case(1)
    visible = views.visible.copy()
    visible[:, sp == 3] = False
    views = dataclasses.replace(views, visible=visible)
    votes = vote_superpoints(views, preds, sp)
    assert votes.visible_count[3] == 0 and not votes.scores[3].any()
    assert (partslip_labels(views, preds, sp, xyz).semantic[sp == 3] == -1).all()


# --------------------------------------------------------------------------- parity


CONFIGS = [
    VoteConfig(),
    VoteConfig(aabb_zero_area_quirk=False),
    VoteConfig(priority_mode="size", small_part_area=0.2),
    VoteConfig(priority_mode="none", aabb_zero_area_quirk=False, whole_object_ratio=0.9),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("config", CONFIGS, ids=["partslip", "fixed", "size", "none"])
def test_vectorised_matches_loop_reference(seed, config):
    views, preds, sp, xyz = random_case(seed)
    fast = vote_superpoints(views, preds, sp, config)
    assert_votes_equal(fast, vote_superpoints_reference(views, preds, sp, config))
    a = partslip_labels(views, preds, sp, xyz, config=config)
    b = partslip_labels_reference(views, preds, sp, xyz, config=config)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_random_cases_exercise_the_corner_cases():
    """The generated cases really contain what the parity test is meant to cover."""
    views, preds, sp, xyz = random_case(0)
    quirk = vote_superpoints(views, preds, sp)
    fixed = vote_superpoints(views, preds, sp, VoteConfig(aabb_zero_area_quirk=False))
    assert (quirk.scores != fixed.scores).any()  # degenerate superpoint boxes occurred
    assert not quirk.kept.all()  # whole-object boxes occurred
    res = partslip_labels(views, preds, sp, xyz)
    assert (res.semantic >= 0).any() and (res.semantic == -1).any()
    assert res.instance.max() >= 1


def test_parity_with_small_chunks(monkeypatch):
    monkeypatch.setattr(incidence, "_CHUNK_TESTS", 16)
    views, preds, sp, xyz = random_case(2)
    a = partslip_labels(views, preds, sp, xyz)
    b = partslip_labels_reference(views, preds, sp, xyz)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def rendered_chair(seed: int, teacher: str, n_points: int = 3000):
    """(views, preds, superpoints, xyz) of a generated chair as the pipeline prepares it: unit
    sphere, estimated normals, the real renderer (``tiny`` rig: 10 views of 128 x 128), the real
    superpoints and a simulated teacher's boxes."""
    shape = generate("Chair", seed, n_points=n_points)
    norm = ensure_normals(normalize(shape).replace(normals=None))
    views = render(norm, "tiny")
    preds = build_teacher(teacher, seed=seed).predict(views, shape.part_names, norm)
    return views, preds, superpoints_for_shape(norm), norm.xyz, shape


@pytest.mark.parametrize("teacher", ["simulated:oracle", "simulated:zeroshot"])
def test_parity_on_a_rendered_chair(teacher):
    views, preds, sp, xyz, shape = rendered_chair(1, teacher)
    a = partslip_labels(views, preds, sp, xyz)
    b = partslip_labels_reference(views, preds, sp, xyz)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert (a.semantic >= 0).mean() > 0.5
    if teacher == "simulated:oracle":
        # the oracle's boxes are the visible parts' own: most points get their true part, and
        # the chair's legs / wheels come out as separate instances
        assert (a.semantic == shape.semantic).mean() > 0.7 and a.instance.max() >= 3


def test_point_order_permuted_gives_permuted_labels():
    views, preds, sp, xyz = random_case(4)
    perm = np.random.default_rng(0).permutation(sp.size)
    permuted = dataclasses.replace(
        views, screen_xy=views.screen_xy[:, perm], visible=views.visible[:, perm], depth=views.depth[:, perm]
    )
    a = partslip_labels(views, preds, sp, xyz)
    b = partslip_labels(permuted, preds, sp[perm], xyz[perm])
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[perm], y)


# --------------------------------------------------------------------------- validation


def test_inputs_are_validated_at_the_boundary():
    views, preds, sp, xyz = random_case(0)
    with pytest.raises(InputError, match="one id per point"):
        vote_superpoints(views, preds, sp[:-1])
    with pytest.raises(InputError, match=">= 0"):
        vote_superpoints(views, preds, np.full_like(sp, -1))
    with pytest.raises(InputError, match="integer"):
        vote_superpoints(views, preds, sp.astype(float))
    bad = dataclasses.replace(preds, boxes=preds.boxes[:, [2, 1, 0, 3]].copy())
    bad.boxes[0, 0] = bad.boxes[0, 2] + 1
    with pytest.raises(InputError, match="x2 >= x1"):
        vote_superpoints(views, bad, sp)
    with pytest.raises(InputError, match="view indices"):
        vote_superpoints(views, dataclasses.replace(preds, view=preds.view + 10), sp)
    with pytest.raises(InputError, match="images"):
        vote_superpoints(views, dataclasses.replace(preds, image_size=(10, 10)), sp)
    with pytest.raises(InputError, match="xyz"):
        partslip_labels(views, preds, sp, xyz[:, :2])
    with pytest.raises(InputError, match="part_names"):
        partslip_labels(views, preds, sp, xyz, part_names=("a",))
    with pytest.raises(InputError, match="scores"):
        label_superpoints(np.zeros((3, 2)), ("a", "b", "c"))
    with pytest.raises(InputError, match="VoteConfig"):
        vote_superpoints(views, preds, sp, config={"vote_threshold": 0.5})


@pytest.mark.parametrize(
    "field, value",
    [("vote_threshold", 0.0), ("vote_threshold", 1.5), ("whole_object_ratio", -1.0),
     ("priority_mode", "largest"), ("small_part_names", "handle"), ("merge_size_ratio", 0.0),
     ("instance_iou", 2.0), ("aabb_iou_eps", 1.0), ("adjacency", float("nan")),
     ("region", "polygon")],
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(InputError, match=field):
        VoteConfig(**{field: value})


def test_config_round_trips_through_json_dict():
    from partlift.config import from_dict, to_dict

    config = VoteConfig(priority_mode="size", small_part_names=("knob",))
    assert from_dict(VoteConfig, to_dict(config)) == config


@pytest.mark.parametrize("visible_fraction", [0.05, 0.6, 1.0])
def test_vote_filter_agrees_with_whole_object_boxes(visible_fraction):
    # Voting bounds box contents from the superpoint boxes; whole_object_boxes from a subset.
    views, preds, sp, _ = random_case(7, n=800)
    rng = np.random.default_rng(1)
    views = dataclasses.replace(views, visible=rng.random(views.visible.shape) < visible_fraction)
    for ratio in (0.3, 0.7, 0.9, 0.98):
        config = VoteConfig(whole_object_ratio=ratio)
        kept = vote_superpoints(views, preds, sp, config).kept
        np.testing.assert_array_equal(kept, ~whole_object_boxes(views, preds, ratio))
        assert (~kept).any()


def test_parity_with_many_superpoint_view_keys():
    # V * M > 65536: the (view, superpoint) keys no longer fit the uint16 radix sort.
    views, preds, sp, xyz = random_case(8, n_views=2)
    sp = sp * 715  # ids up to ~33000, almost all unused
    assert 2 * (sp.max() + 1) > 1 << 16
    assert_votes_equal(vote_superpoints(views, preds, sp), vote_superpoints_reference(views, preds, sp))
    a = partslip_labels(views, preds, sp, xyz)
    b = partslip_labels_reference(views, preds, sp, xyz)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- mask region


def with_masks(preds: Predictions, masks: np.ndarray) -> Predictions:
    return dataclasses.replace(preds, masks=np.asarray(masks, bool))


def test_mask_region_hand_computed():
    # The hand case with masks instead of boxes: mask A (back, view 0) holds pixel (2, 2) only
    # (point 0); mask B (handle, view 0) holds the pixels of points 2 and 4; mask C (back, view 1)
    # holds the pixels of points 0, 1, 3 and 4.
    views, preds, sp = hand_case()
    masks = np.zeros((3, SIZE, SIZE), bool)
    masks[0, 2, 2] = True
    masks[1, 12, 12] = masks[1, 15, 15] = True
    for x, y in ([5, 5], [7, 9], [10, 10], [20, 20]):
        masks[2, y, x] = True
    preds = with_masks(preds, masks)
    eps = 1e-6
    votes = vote_superpoints(views, preds, sp, VoteConfig(region="mask"))
    # superpoint 0 (5 visible pairs): back = v0 point 0 + v1 points 0, 1 = 3; handle = v0 point 2.
    # superpoint 1 (4 pairs): back = v1 points 3, 4 = 2; handle = v0 point 4 = 1.
    expected = np.array([[3 / (5 + eps), 1 / (5 + eps)], [2 / (4 + eps), 1 / (4 + eps)], [0, 0]])
    np.testing.assert_array_equal(votes.scores, expected)
    res = partslip_labels(views, preds, sp, np.random.default_rng(0).normal(size=(6, 3)),
                          config=VoteConfig(region="mask"))
    # 3/5 labels superpoint 0 back; 2/(4 + eps) is just below 0.5, so superpoint 1 stays -1.
    np.testing.assert_array_equal(res.semantic, [0, 0, 0, -1, -1, -1])


def brute_force_mask_scores(views, preds, sp, config):
    """§2.4 scores with mask membership, by loops (whole-object filter from the box votes)."""
    kept = vote_superpoints(views, preds, sp, config).kept
    m, c = sp.max() + 1, len(preds.part_names)
    num, den = np.zeros((m, c)), np.zeros(m)
    for v in range(views.n_views):
        for p in np.flatnonzero(views.visible[v]):
            den[sp[p]] += 1
            x, y = (int(np.floor(t)) for t in views.screen_xy[v, p])
            for j in range(c):
                if any(kept[d] and preds.view[d] == v and preds.label[d] == j and preds.masks[d, y, x]
                       for d in range(len(preds))):
                    num[sp[p], j] += 1
    return num / (den[:, None] + config.vote_eps)


@pytest.mark.parametrize("seed", [0, 1])
def test_mask_region_matches_brute_force_on_random_cases(seed):
    views, preds, sp, _ = random_case(seed)
    rng = np.random.default_rng(seed)
    masks = np.zeros((len(preds), SIZE, SIZE), bool)
    for d, (x1, y1, x2, y2) in enumerate(preds.boxes):  # a random blob inside each box
        yy, xx = np.mgrid[:SIZE, :SIZE]
        inside = (xx >= x1) & (xx <= x2) & (yy >= y1) & (yy <= y2)
        masks[d] = inside & (rng.random((SIZE, SIZE)) < 0.6)
    preds = with_masks(preds, masks)
    config = VoteConfig(region="mask")
    votes = vote_superpoints(views, preds, sp, config)
    np.testing.assert_allclose(votes.scores, brute_force_mask_scores(views, preds, sp, config), rtol=0, atol=1e-12)
    box = vote_superpoints(views, preds, sp)
    assert not np.array_equal(votes.scores, box.scores)  # the option changes something
    np.testing.assert_array_equal(votes.kept, box.kept)


def test_mask_region_without_masks_says_what_to_do():
    views, preds, sp = hand_case()
    with pytest.raises(InputError, match="no masks.*box\\+sam"):
        vote_superpoints(views, preds, sp, VoteConfig(region="mask"))
