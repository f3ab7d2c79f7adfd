"""Coverage matrix K (METHODS §1.2, §6): fast sparse path == slow dense reference."""

from __future__ import annotations

import numpy as np
import pytest

from partlift.errors import InputError
from partlift.lifting.coverage import coverage, coverage_dense_reference, whole_object_fraction
from partlift.types import Camera, Predictions, Views


def make_views(xy: np.ndarray, visible: np.ndarray, hw: tuple[int, int]) -> Views:
    v, n, _ = xy.shape
    h, w = hw
    return Views(
        rgb=np.zeros((v, h, w, 3), np.uint8),
        pix2point=np.full((v, h, w), -1, np.int64),
        screen_xy=xy.astype(np.float32),
        visible=visible.astype(bool),
        depth=np.ones((v, n), np.float32),
        cameras=tuple(Camera(10.0, 90.0 * i, 2.2, 60.0) for i in range(v)),
    )


def make_preds(view, boxes, hw, masks=None, n_parts=3) -> Predictions:
    d = len(view)
    return Predictions(
        view=np.asarray(view, np.int64),
        label=np.arange(d, dtype=np.int64) % n_parts,
        score=np.full(d, 0.9, np.float32),
        boxes=np.asarray(boxes, np.float32).reshape(d, 4),
        features=np.zeros((d, 2), np.float32),
        part_names=tuple(f"p{i}" for i in range(n_parts)),
        image_size=hw,
        masks=masks,
    )


def random_case(seed: int, v=3, n=400, d=25, hw=(20, 24)):
    rng = np.random.default_rng(seed)
    h, w = hw
    xy = np.stack([rng.uniform(-2, w + 1, (v, n)), rng.uniform(-2, h + 1, (v, n))], axis=-1)
    # Some points exactly on integer / half-integer coordinates (box edges, pixel borders).
    xy[:, : n // 4] = np.round(xy[:, : n // 4] * 2) / 2
    visible = rng.random((v, n)) < 0.6
    c = np.stack([rng.uniform(0, w, d), rng.uniform(0, h, d)], 1)
    s = rng.uniform(0.5, 12, (d, 2))
    boxes = np.round(np.concatenate([c - s / 2, c + s / 2], 1) * 2) / 2
    masks = rng.random((d, h, w)) < 0.4
    view = rng.integers(0, v, d)
    return make_views(xy, visible, hw), make_preds(view, boxes, hw, masks)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("region", ["box", "mask"])
def test_sparse_equals_dense_reference(seed, region):
    views, preds = random_case(seed)
    fast = coverage(views, preds, region=region)
    ref = coverage_dense_reference(views, preds, region=region)
    assert fast.region == region
    assert fast.matrix.shape == (len(preds), views.n_points)
    assert fast.matrix.dtype == np.uint8
    assert fast.matrix.has_sorted_indices
    np.testing.assert_array_equal(fast.to_dense(), ref.to_dense())
    # CSR invariants: sorted indices, no explicit zeros.
    m = fast.matrix
    assert (m.data == 1).all()
    for d in range(m.shape[0]):
        cols = m.indices[m.indptr[d] : m.indptr[d + 1]]
        assert (np.diff(cols) > 0).all()


def test_box_edges_are_outside():
    # 5 points in view 0: on each edge of box [2, 2, 6, 6], and one strictly inside.
    xy = np.array([[[2.0, 4.0], [6.0, 4.0], [4.0, 2.0], [4.0, 6.0], [4.0, 4.0], [2.001, 5.999]]])
    views = make_views(xy, np.ones((1, 6), bool), (10, 10))
    preds = make_preds([0], [[2, 2, 6, 6]], (10, 10))
    k = coverage(views, preds).to_dense()
    np.testing.assert_array_equal(k[0], [False, False, False, False, True, True])
    np.testing.assert_array_equal(coverage_dense_reference(views, preds).to_dense(), k)


def test_invisible_points_never_covered():
    xy = np.full((2, 2, 2), 4.0)
    visible = np.array([[True, False], [False, True]])
    views = make_views(xy, visible, (10, 10))
    preds = make_preds([0, 1], [[0, 0, 9, 9], [0, 0, 9, 9]], (10, 10))
    np.testing.assert_array_equal(coverage(views, preds).to_dense(), [[1, 0], [0, 1]])


def test_mask_floor_indexing():
    # x = 3.999 -> column 3, x = 4.0 -> column 4; y = -0.3 -> row -1 (out of image), 9.9 -> row 9.
    xy = np.array([[[3.999, 1.0], [4.0, 1.0], [4.0, -0.3], [4.5, 9.9], [10.2, 1.0]]])
    views = make_views(xy, np.ones((1, 5), bool), (10, 10))
    mask = np.zeros((1, 10, 10), bool)
    mask[0, 1, 4] = True
    mask[0, 9, 4] = True
    mask[0, 0, 4] = True  # would catch y=-0.3 if it were rounded instead of floored
    preds = make_preds([0], [[0, 0, 9, 9]], (10, 10), masks=mask)
    k = coverage(views, preds, region="mask").to_dense()
    np.testing.assert_array_equal(k[0], [False, True, False, True, False])
    np.testing.assert_array_equal(coverage_dense_reference(views, preds, region="mask").to_dense(), k)


def test_empty_predictions_and_views_without_visible_points():
    views = make_views(np.zeros((2, 5, 2)), np.zeros((2, 5), bool), (4, 4))
    empty = Predictions.empty(("a",), (4, 4), 3, with_masks=True)
    for region in ("box", "mask"):
        k = coverage(views, empty, region=region)
        assert k.matrix.shape == (0, 5)
    preds = make_preds([1], [[-1, -1, 5, 5]], (4, 4), masks=np.ones((1, 4, 4), bool), n_parts=1)
    assert coverage(views, preds, region="mask").matrix.nnz == 0


def test_boundary_errors():
    views, preds = random_case(0)
    with pytest.raises(InputError, match="region"):
        coverage(views, preds, region="circle")
    boxes_only = make_preds([0], [[0, 0, 5, 5]], (20, 24))
    with pytest.raises(InputError, match="mask"):
        coverage(views, boxes_only, region="mask")
    wrong_view = make_preds([7], [[0, 0, 5, 5]], (20, 24))
    with pytest.raises(InputError, match="views"):
        coverage(views, wrong_view)
    wrong_size = make_preds([0], [[0, 0, 5, 5]], (21, 24))
    with pytest.raises(InputError, match="images"):
        coverage(views, wrong_size)


def test_whole_object_fraction_counts_all_points():
    # 4 points, only one visible; box covers 3 of them strictly (one sits on the edge).
    xy = np.array([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [5.0, 3.0]]])
    visible = np.array([[True, False, False, False]])
    views = make_views(xy, visible, (8, 8))
    preds = make_preds([0, 0], [[0, 0, 5, 5], [-1, -1, 8, 8]], (8, 8))
    np.testing.assert_allclose(whole_object_fraction(views, preds), [0.75, 1.0])
