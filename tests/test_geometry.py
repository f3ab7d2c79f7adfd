"""Normalisation (METHODS §1.1) and normal estimation (METHODS §1.4)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from partlift.errors import InputError
from partlift.geometry import (
    NORMAL_K,
    NORMAL_RADIUS,
    ensure_normals,
    estimate_normals,
    normalize,
    normalize_transform,
    smallest_eigenvectors,
)
from partlift.io import mesh_to_shape
from partlift.types import NormalizeTransform, Shape


def _normals_reference(xyz: np.ndarray, k: int = NORMAL_K, radius: float = NORMAL_RADIUS) -> np.ndarray:
    """The former estimate_normals: per-point (N, k, 3) neighbourhoods and numpy ``eigh``, outward."""
    pts = np.asarray(xyz, dtype=np.float64)
    n = len(pts)
    kk = min(k, n)
    dist, idx = cKDTree(pts).query(pts, k=kk)
    dist, idx = dist.reshape(n, kk), idx.reshape(n, kk)
    valid = dist <= radius
    valid[valid.sum(axis=1) < min(3, kk)] = True
    w = valid.astype(np.float64)[:, :, None]
    nb = (pts[idx] - pts[:, None, :]) * w
    cnt = w.sum(axis=1, keepdims=True)
    d = (nb - nb.sum(axis=1, keepdims=True) / cnt) * w
    normals = np.linalg.eigh(d.transpose(0, 2, 1) @ d / cnt)[1][:, :, 0]
    flip = ((pts - pts.mean(axis=0)) * normals).sum(axis=1) < 0
    normals[flip] *= -1.0
    return normals


def _angles_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles between unoriented normals, degrees: arctan2(|a x b|, |a . b|) (accurate near 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.abs((a * b).sum(axis=1))))


def _cloud(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 3)) * [3.0, 1.0, 0.5] + [10.0, -4.0, 2.0]).astype(np.float32)


def _sphere(n: int, seed: int = 0) -> np.ndarray:
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def test_normalize_centroid_properties():
    xyz = _cloud()
    shape = Shape(xyz=xyz, semantic=np.zeros(len(xyz), np.int64), part_names=("a",))
    out = normalize(shape)
    np.testing.assert_allclose(out.xyz.mean(axis=0), 0.0, atol=1e-6)
    assert np.linalg.norm(out.xyz, axis=1).max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(out.transform.invert(out.xyz), xyz, atol=1e-4)
    np.testing.assert_allclose(out.transform.center, xyz.astype(np.float64).mean(axis=0), rtol=1e-9)
    assert out.semantic is shape.semantic and out.part_names == ("a",)
    assert shape.transform is None and shape.xyz is xyz  # input untouched


def test_normalize_bbox_mode_centres_the_box():
    out = normalize(Shape(xyz=_cloud()), mode="bbox")
    np.testing.assert_allclose(out.xyz.min(axis=0) + out.xyz.max(axis=0), 0.0, atol=1e-6)
    assert np.linalg.norm(out.xyz, axis=1).max() == pytest.approx(1.0, abs=1e-6)


def test_normalize_composes_with_an_existing_transform():
    xyz = _cloud()
    first = normalize(Shape(xyz=xyz), mode="bbox")
    second = normalize(first)  # centroid of the bbox-normalised cloud
    np.testing.assert_allclose(second.transform.invert(second.xyz), xyz, atol=1e-4)
    assert second.transform.scale == pytest.approx(first.transform.scale * normalize_transform(first.xyz).scale)


def test_normalize_moves_a_mesh_copy_with_the_points():
    box = trimesh.creation.box(extents=(4.0, 2.0, 2.0))
    box.apply_translation([5.0, 0.0, 0.0])
    shape = mesh_to_shape(box, 300, seed=0)
    out = normalize(shape)
    assert out.mesh is not shape.mesh
    np.testing.assert_allclose(box.bounds[0], [3.0, -1.0, -1.0])  # original untouched
    np.testing.assert_allclose(out.mesh.vertices, out.transform.apply(box.vertices), atol=1e-6)
    np.testing.assert_allclose(out.normals, shape.normals)


def test_normalize_degenerate_cloud():
    with pytest.raises(InputError, match="all 7 points are identical"):
        normalize(Shape(xyz=np.full((7, 3), 1e3, np.float32)))


def test_normalize_bad_arguments():
    with pytest.raises(InputError, match="mode"):
        normalize(Shape(xyz=_cloud()), mode="sphere")
    with pytest.raises(InputError, match="Shape"):
        normalize(_cloud())


def test_normalize_transform_round_trip_is_exact_enough():
    t = NormalizeTransform(center=(1.0, 2.0, 3.0), scale=4.0)
    xyz = _cloud()
    np.testing.assert_allclose(t.invert(t.apply(xyz)), xyz, atol=1e-5)


def test_normals_of_a_plane():
    rng = np.random.default_rng(0)
    xyz = np.column_stack([rng.random(2000) - 0.5, rng.random(2000) - 0.5, np.zeros(2000)])
    normals = estimate_normals(xyz)
    assert normals.dtype == np.float32 and normals.shape == (2000, 3)
    np.testing.assert_allclose(np.abs(normals[:, 2]), 1.0, atol=1e-5)


def test_normals_of_a_sphere_point_outwards():
    xyz = _sphere(5000)
    normals = estimate_normals(xyz)
    dots = (normals * xyz).sum(axis=1)
    assert dots.min() > 0.97
    unoriented = estimate_normals(xyz, orient="none")
    np.testing.assert_allclose(np.abs((unoriented * xyz).sum(axis=1)), dots, atol=1e-5)


def test_isolated_points_fall_back_to_nearest_neighbours():
    # 3 far-apart points on the plane z = 0 have no neighbour within the radius
    xyz = np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0]], float)
    normals = estimate_normals(xyz)
    np.testing.assert_allclose(np.abs(normals[:, 2]), 1.0, atol=1e-6)


def test_normals_are_deterministic_and_validated():
    xyz = _sphere(500, seed=3)
    np.testing.assert_array_equal(estimate_normals(xyz), estimate_normals(xyz))
    with pytest.raises(InputError, match="k must be"):
        estimate_normals(xyz, k=2)
    with pytest.raises(InputError, match="radius"):
        estimate_normals(xyz, radius=-1.0)
    with pytest.raises(InputError, match=r"\(N, 3\)"):
        estimate_normals(xyz[:, :2])


def test_ensure_normals_keeps_existing_and_is_frame_independent():
    xyz = _sphere(3000).astype(np.float32)
    small = ensure_normals(Shape(xyz=xyz))
    big = ensure_normals(Shape(xyz=xyz * 1000.0 + 7.0))  # radius 0.1 is taken in the unit sphere
    np.testing.assert_allclose(small.normals, big.normals, atol=1e-4)
    given = Shape(xyz=xyz, normals=np.tile(np.float32([0, 1, 0]), (len(xyz), 1)))
    assert ensure_normals(given) is given


def test_closed_form_eigenvectors_match_eigh():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4000, 3, 3))
    mats = base @ base.transpose(0, 2, 1)
    mats[:1000] = np.eye(3) * 2.0 + 1e-9 * mats[:1000]  # (nearly) isotropic: eigh fallback
    mats[1000:2000] = np.diag([1e-6, 1.0, 1.0])  # plane-like, repeated large eigenvalues
    mats[2000:2100] = np.diag([0.0, 0.0, 1.0])  # line: two zero eigenvalues
    got = smallest_eigenvectors(mats[:, 0, 0], mats[:, 0, 1], mats[:, 0, 2], mats[:, 1, 1],
                                mats[:, 1, 2], mats[:, 2, 2])
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-12)
    vals, vecs = np.linalg.eigh(mats)
    lam = np.einsum("nij,nj->ni", mats, got)
    # An eigenvector of the smallest eigenvalue: A v = lambda_min v
    np.testing.assert_allclose(lam, vals[:, :1] * got, atol=1e-9 * np.abs(vals).max())
    separated = vals[:, 1] - vals[:, 0] > 1e-3 * vals[:, 2]
    assert _angles_deg(got[separated], vecs[separated, :, 0]).max() < 1e-4


@pytest.mark.parametrize("which", ["sphere", "noisy_box", "sparse_sphere"])
def test_fast_normals_match_the_reference(which):
    rng = np.random.default_rng(1)
    if which == "sphere":
        xyz = _sphere(20000) + 0.002 * rng.normal(size=(20000, 3))
    elif which == "sparse_sphere":  # most 30-NN lie beyond the 0.1 radius: the masked path
        xyz = _sphere(3000) + 0.01 * rng.normal(size=(3000, 3))
    else:  # faces, sharp edges and corners of a box, slightly noisy
        xyz = rng.uniform(-0.5, 0.5, size=(20000, 3))
        face = rng.integers(0, 3, 20000)
        xyz[np.arange(20000), face] = np.sign(xyz[np.arange(20000), face]) * 0.5
        xyz += 1e-4 * rng.normal(size=xyz.shape)
    ref = _normals_reference(xyz)
    got = estimate_normals(xyz, workers=-1)
    ang = _angles_deg(ref, got)
    # Stated tolerance (docs/superpoints.md): float32 neighbourhood sums vs float64, <= 0.01 deg.
    assert np.percentile(ang, 99) < 1e-3 and ang.max() < 0.01
    assert ((ref * got).sum(axis=1) > 0).mean() > 0.999  # same outward sign


def test_fast_normals_match_the_reference_on_a_real_shape(real_dev_root):
    from partlift.io import load_shape

    shape = normalize(load_shape(real_dev_root / "StorageFurniture" / "45940"))
    ang = _angles_deg(_normals_reference(shape.xyz), estimate_normals(shape.xyz, workers=-1))
    assert np.percentile(ang, 99) < 1e-3 and ang.max() < 0.01


def test_nearest_neighbours_table_matches_a_plain_query_and_is_validated():
    from partlift.geometry import Neighbours, nearest_neighbours

    rng = np.random.default_rng(3)
    xyz = rng.normal(size=(500, 3))
    table = nearest_neighbours(xyz, 12, workers=1)
    assert isinstance(table, Neighbours) and table.k == 12 and table.idx.dtype == np.int64
    assert sorted(table.order.tolist()) == list(range(500))  # a permutation of the points
    dist, idx = cKDTree(xyz).query(xyz, k=12)
    np.testing.assert_array_equal(table.idx, idx[table.order])
    np.testing.assert_array_equal(table.dist, dist[table.order])
    assert nearest_neighbours(xyz[:4], 30).k == 4  # capped at N
    with pytest.raises(InputError, match="k must be an integer >= 1"):
        nearest_neighbours(xyz, 0)
    with pytest.raises(InputError, match=r"expected \(N, 3\)"):
        nearest_neighbours(xyz[:, :2], 3)


def test_normals_from_a_shared_neighbour_table_are_identical():
    """estimate_normals(neighbours=a wider table of the same points) == its own query, bit for bit."""
    from partlift.geometry import nearest_neighbours

    rng = np.random.default_rng(4)
    d = rng.normal(size=(3000, 3))
    xyz = (d / np.linalg.norm(d, axis=1, keepdims=True) + 0.01 * rng.normal(size=(3000, 3))).astype(np.float32)
    own = estimate_normals(xyz, workers=-1)
    wide = nearest_neighbours(xyz, NORMAL_K + 5)
    np.testing.assert_array_equal(estimate_normals(xyz, neighbours=wide), own)
    with pytest.raises(InputError, match="neighbours must be a Neighbours table"):
        estimate_normals(xyz, neighbours=nearest_neighbours(xyz, 5))
    with pytest.raises(InputError, match="neighbours must be a Neighbours table"):
        estimate_normals(xyz[:100], neighbours=wide)


def test_normals_and_neighbours_equal_the_two_step_path_for_any_thread_count():
    """The fused, block-threaded query + normals == nearest_neighbours then estimate_normals."""
    from partlift.geometry import nearest_neighbours, normals_and_neighbours

    rng = np.random.default_rng(5)
    d = rng.normal(size=(20_000, 3))
    xyz = d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(0.3, 1.0, size=(20_000, 1))
    for radius in (NORMAL_RADIUS, 0.02, None):  # 0.02: some rows mask far neighbours out
        table = nearest_neighbours(xyz, NORMAL_K + 6, workers=1)
        want = estimate_normals(xyz, radius=radius, neighbours=table)
        for workers in (1, 2, 3, -1):
            normals, got = normals_and_neighbours(xyz, radius=radius, table_k=NORMAL_K + 6, workers=workers)
            np.testing.assert_array_equal(normals, want)
            np.testing.assert_array_equal(got.order, table.order)
            np.testing.assert_array_equal(got.idx, table.idx)
            np.testing.assert_array_equal(got.dist, table.dist)
        normals, narrow = normals_and_neighbours(xyz, radius=radius, table_k=11, workers=2)  # the graph's 11
        np.testing.assert_array_equal(normals, want)
        np.testing.assert_array_equal(narrow.idx, table.idx[:, :11])
        np.testing.assert_array_equal(narrow.dist, table.dist[:, :11])
    normals, small = normals_and_neighbours(xyz[:50], table_k=5)  # table_k < k: the normals still use k
    assert small.k == 5 and normals.shape == (50, 3) and normals.dtype == np.float32
    np.testing.assert_array_equal(normals, estimate_normals(xyz[:50]))
    assert normals_and_neighbours(xyz[:4])[1].k == 4  # capped at N
    with pytest.raises(InputError, match="table_k must be an integer >= 1"):
        normals_and_neighbours(xyz, table_k=0)
    with pytest.raises(InputError, match="workers must be -1"):
        normals_and_neighbours(xyz, workers=0)
    with pytest.raises(InputError, match="workers must be -1"):
        estimate_normals(xyz, workers=-2)


def test_speed_normals_stage_small():
    from partlift.bench.speed.normals import speed_normals

    r = speed_normals(2000, "cpu", repeats=1)
    assert r["stage"] == "normals" and r["points"] == 2000 and r["workers"] == -1
    assert r["seconds"] > 0 and r["cpu_seconds"] >= 0 and r["seconds_cold"] > 0
    with pytest.raises(InputError, match="repeats >= 1"):
        speed_normals(2000, "cpu", repeats=0)
