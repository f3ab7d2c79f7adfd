"""Tests of the multi-view point-splatting renderer (METHODS §1.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from partlift.bench.speed.render import speed_render, synthetic_cloud
from partlift.config import RenderConfig
from partlift.errors import InputError
from partlift.render import camera_rig, project, render
from partlift.render.camera import view_rotation
from partlift.render.raster import rasterize, splat_offsets
from partlift.render.reference import rasterize_reference, render_reference
from partlift.render.shading import ALBEDO, AMBIENT, DIFFUSE
from partlift.types import Camera, Shape, Views

TAN30 = math.tan(math.radians(30.0))


def _random_shape(seed: int, n: int = 300, colour: bool = True) -> Shape:
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-1.0, 1.0, size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1).max()
    rgb = rng.uniform(0.0, 1.0, size=(n, 3)).astype(np.float32) if colour else None
    return Shape(xyz=xyz.astype(np.float32), rgb=rgb, name=f"random-{seed}")


# ---------------------------------------------------------------------------------------------
# (a) a hand-computed tiny case
# ---------------------------------------------------------------------------------------------
#
# One camera at elevation 0, azimuth 0, distance 2.2: C = (0, 0, 2.2), looking down -Z with +Y up.
# PyTorch3D's look_at rotation has camera axes x = up x z = (0,1,0) x (0,0,-1) = (-1, 0, 0),
# y = (0, 1, 0), z = (0, 0, -1), so x_view = -X, y_view = Y, depth z = 2.2 - Z.
# FoV 60 deg: x_ndc = x_view / (tan 30 * z). Image 8 x 8:
#     x_screen = 3.5 - 4 x_ndc = 3.5 + 4 X / (tan30 z),   y_screen = 3.5 - 4 Y / (tan30 z)
# so a point meant to land at screen (sx, sy) with depth z has
#     X = (sx - 3.5) z tan30 / 4,   Y = (3.5 - sy) z tan30 / 4,   Z = 2.2 - z.
# Splat radius 0.375 NDC = 0.375 * 8 / 2 = 1.5 px: a pixel (r, c) is covered iff
# (c - sx)^2 + (r - sy)^2 < 2.25.
#   P0 at (2, 2),     z 2.0 : offsets with dx^2 + dy^2 < 2.25 -> the 3x3 block cols 1-3, rows 1-3.
#   P1 at (3, 3),     z 1.5 : 3x3 block cols 2-4, rows 2-4; nearer than P0, so it wins the overlap
#                             (cols 2-3, rows 2-3).
#   P2 at (5.5, 5.5), z 2.0 : the four centres at distance sqrt(0.5); the next ring is at
#                             sqrt(1.5^2 + 0.5^2) = 1.58 > 1.5 -> cols 5-6, rows 5-6.
#   P3 at (5.5, 5.5), z 2.5 : same pixels as P2 but farther: owns nothing, invisible.
#   P4 at (7, 0),     z 2.0 : its 3x3 block is clipped by the image -> cols 6-7, rows 0-1.
#   P5 at (3.5, 3.5), z 0.005 : nearer than znear (0.01): not drawn, invisible.
TINY_TARGETS = [  # (sx, sy, depth)
    (2.0, 2.0, 2.0),
    (3.0, 3.0, 1.5),
    (5.5, 5.5, 2.0),
    (5.5, 5.5, 2.5),
    (7.0, 0.0, 2.0),
    (3.5, 3.5, 0.005),
]
TINY_PIX2POINT = np.array(
    [
        [-1, -1, -1, -1, -1, -1, 4, 4],
        [-1, 0, 0, 0, -1, -1, 4, 4],
        [-1, 0, 1, 1, 1, -1, -1, -1],
        [-1, 0, 1, 1, 1, -1, -1, -1],
        [-1, -1, 1, 1, 1, -1, -1, -1],
        [-1, -1, -1, -1, -1, 2, 2, -1],
        [-1, -1, -1, -1, -1, 2, 2, -1],
        [-1, -1, -1, -1, -1, -1, -1, -1],
    ],
    dtype=np.int64,
)
TINY_SCREEN_XY = np.array(
    [[2.0, 2.0], [3.0, 3.0], [5.5, 5.5], [5.5, 5.5], [7.0, 0.0], [3.5, 3.5]], dtype=np.float32
)
TINY_DEPTH = np.array([2.0, 1.5, 2.0, 2.5, 2.0, 0.005], dtype=np.float32)
TINY_VISIBLE = np.array([True, True, True, False, True, False])
TINY_CONFIG = RenderConfig(views=((0.0, 0.0),), image_size=8, point_radius=0.375)


def _tiny_shape() -> Shape:
    xyz = np.array(
        [((sx - 3.5) * z * TAN30 / 4, (3.5 - sy) * z * TAN30 / 4, 2.2 - z) for sx, sy, z in TINY_TARGETS]
    )
    rgb = (np.arange(18).reshape(6, 3) * 10 + 5) / 255.0  # exact 8-bit values 5, 15, ...
    return Shape(xyz=xyz.astype(np.float32), rgb=rgb.astype(np.float32), name="tiny")


def test_tiny_hand_computed_case():
    views = render(_tiny_shape(), TINY_CONFIG)
    assert isinstance(views, Views)
    np.testing.assert_allclose(views.screen_xy[0], TINY_SCREEN_XY, atol=1e-4)
    np.testing.assert_allclose(views.depth[0], TINY_DEPTH, atol=1e-6)
    np.testing.assert_array_equal(views.pix2point[0], TINY_PIX2POINT)
    np.testing.assert_array_equal(views.visible[0], TINY_VISIBLE)
    # Each pixel has its point's 8-bit colour; the rest is white.
    colours = (np.arange(18).reshape(6, 3) * 10 + 5).astype(np.uint8)
    expected = np.full((8, 8, 3), 255, dtype=np.uint8)
    owned = TINY_PIX2POINT >= 0
    expected[owned] = colours[TINY_PIX2POINT[owned]]
    np.testing.assert_array_equal(views.rgb[0], expected)


def test_tiny_case_matches_reference():
    pix2point, visible = render_reference(_tiny_shape(), TINY_CONFIG)
    np.testing.assert_array_equal(pix2point[0], TINY_PIX2POINT)
    np.testing.assert_array_equal(visible[0], TINY_VISIBLE)


def test_view_rotation_matches_pytorch3d_look_at():
    # PyTorch3D: look_at_view_transform(2.2, 0, 0) -> R = diag(-1, 1, -1), T = (0, 0, 2.2).
    rot, trans = view_rotation(Camera(0.0, 0.0, 2.2, 60.0))
    np.testing.assert_allclose(rot, np.diag([-1.0, 1.0, -1.0]), atol=1e-12)
    np.testing.assert_allclose(trans, [0.0, 0.0, 2.2], atol=1e-12)
    # Azimuth 90: camera on +X; camera x axis = (0,1,0) x (-1,0,0) = (0, 0, 1).
    rot, trans = view_rotation(Camera(0.0, 90.0, 2.2, 60.0))
    np.testing.assert_allclose(rot[:, 0], [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(rot[:, 2], [-1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(trans, [0.0, 0.0, 2.2], atol=1e-12)


def test_project_matches_independent_formula():
    rng = np.random.default_rng(3)
    xyz = rng.uniform(-0.6, 0.6, size=(50, 3)).astype(np.float32)
    for cam in camera_rig("partslip"):
        sxy, depth = project(xyz, cam, 800)
        assert sxy.dtype == np.float32 and depth.dtype == np.float32
        eye = cam.eye
        z_axis = -eye / np.linalg.norm(eye)
        x_axis = np.cross([0.0, 1.0, 0.0], z_axis)
        x_axis /= np.linalg.norm(x_axis)
        y_axis = np.cross(z_axis, x_axis)
        rel = xyz.astype(np.float64) - eye
        xv, yv, zv = rel @ x_axis, rel @ y_axis, rel @ z_axis
        np.testing.assert_allclose(depth, zv, rtol=1e-6)
        np.testing.assert_allclose(sxy[:, 0], 399.5 - 400 * xv / (TAN30 * zv), atol=1e-3)
        np.testing.assert_allclose(sxy[:, 1], 399.5 - 400 * yv / (TAN30 * zv), atol=1e-3)


# ---------------------------------------------------------------------------------------------
# (b) the nearer point wins; ties go to the lower index
# ---------------------------------------------------------------------------------------------
def test_nearer_point_wins_and_ties_go_to_lower_index():
    xy = torch.tensor([[[4.0, 4.0], [4.0, 4.0], [4.2, 3.9]]])
    for depths, winner in (([2.0, 1.0, 3.0], 1), ([1.0, 2.0, 3.0], 0), ([1.5, 1.5, 3.0], 0)):
        out = rasterize(xy, torch.tensor([depths]), 9, 1.5, 0.01)
        assert out[0, 4, 4].item() == winner
        np.testing.assert_array_equal(
            out.numpy(), rasterize_reference(xy.numpy(), np.array([depths], np.float32), 9, 1.5, 0.01)
        )


def test_strict_radius_boundary():
    # A pixel centre exactly at the radius is not covered (PyTorch3D: dist2 < r^2).
    out = rasterize(torch.tensor([[[3.0, 3.0]]]), torch.tensor([[1.0]]), 7, 1.0, 0.01)[0].numpy()
    assert (out >= 0).sum() == 1 and out[3, 3] == 0


def test_splat_offsets():
    offsets, always = splat_offsets(2.0)
    assert len(offsets) == 21  # 5 x 5 minus the corners
    assert sorted(o for o, a in zip(offsets, always, strict=True) if a) == [(-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)]
    assert len(splat_offsets(1.0)[0]) == 9
    with pytest.raises(InputError):
        splat_offsets(0.0)


# ---------------------------------------------------------------------------------------------
# (c) invariants, (d) fast == reference
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_visibility_invariants(seed):
    cfg = RenderConfig(image_size=64, point_radius=2.0 / 32)
    views = render(_random_shape(seed), cfg)
    assert views.pix2point.dtype == np.int64 and views.pix2point.shape == (10, 64, 64)
    assert views.visible.shape == (10, 300) and views.screen_xy.shape == (10, 300, 2)
    cols, rows = np.meshgrid(np.arange(64), np.arange(64))
    for v in range(10):
        p2p = views.pix2point[v]
        owners = np.unique(p2p[p2p >= 0])
        # every non-empty pixel's point is visible, every visible point owns a pixel
        np.testing.assert_array_equal(np.flatnonzero(views.visible[v]), owners)
        # each owned pixel's centre is strictly within the radius of its point
        sel = p2p >= 0
        d = views.screen_xy[v][p2p[sel]] - np.stack([cols[sel], rows[sel]], axis=1)
        assert ((d**2).sum(axis=1) < cfg.radius_px**2 + 1e-4).all()
    assert views.cameras == camera_rig(cfg)


@pytest.mark.parametrize("seed,radius", [(0, 2.0 / 32), (1, 2.0 / 32), (2, 0.03), (3, 0.1)])
def test_fast_equals_reference_on_random_clouds(seed, radius):
    cfg = RenderConfig(image_size=64, point_radius=radius)
    shape = _random_shape(seed)
    views = render(shape, cfg)
    pix2point, visible = render_reference(shape, cfg)
    np.testing.assert_array_equal(views.pix2point, pix2point)
    np.testing.assert_array_equal(views.visible, visible)


def test_fast_equals_reference_on_grid_aligned_ties():
    # Positions on a quarter-pixel grid hit the radius exactly and share depths: the hard cases.
    rng = np.random.default_rng(7)
    xy = (rng.integers(-30, 4 * 20 + 30, size=(2, 150, 2)) / 4).astype(np.float32)
    depth = rng.choice(np.array([-1.0, 0.0, 0.005, 0.5, 1.0, 2.0], np.float32), size=(2, 150))
    for radius in (0.5, 1.0, 1.28, 2.0, 2.5):
        fast = rasterize(torch.from_numpy(xy), torch.from_numpy(depth), 20, radius, 0.01).numpy()
        np.testing.assert_array_equal(fast, rasterize_reference(xy, depth, 20, radius, 0.01))


def test_point_order_permutation_permutes_pix2point():
    shape = _random_shape(4)
    perm = np.random.default_rng(0).permutation(shape.n_points)
    a = render(shape, "tiny")
    b = render(shape.subset(perm), "tiny")
    np.testing.assert_array_equal(np.where(b.pix2point >= 0, perm[b.pix2point], -1), a.pix2point)
    np.testing.assert_array_equal(b.visible, a.visible[:, perm])
    np.testing.assert_array_equal(b.rgb, a.rgb)


def test_render_is_deterministic():
    shape = _random_shape(5)
    a, b = render(shape, "tiny"), render(shape, "tiny")
    for field in ("rgb", "pix2point", "screen_xy", "visible", "depth"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# ---------------------------------------------------------------------------------------------
# (e) azimuth / elevation conventions
# ---------------------------------------------------------------------------------------------
def test_azimuth_convention():
    # Camera at azimuth a sits at (sin a, 0, cos a) * d. Looking from +Z (a = 0) with +Y up, world
    # +X is on the right (larger column), +Y at the top (smaller row). From +X (a = 90), +Z is on
    # the left; from -Z (a = 180), +X is on the left; from -X (a = 270), +Z is on the right.
    cfg = RenderConfig(views=((0.0, 0.0), (0.0, 90.0), (0.0, 180.0), (0.0, 270.0)), image_size=64)
    xyz = np.array([[0.0, 0.0, 0.5], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=np.float32)
    views = render(Shape(xyz=xyz), cfg)
    centre = 31.5
    pz, px, py = 0, 1, 2
    sxy = views.screen_xy
    assert sxy[0, pz, 0] == pytest.approx(centre, abs=1e-4)
    assert sxy[0, px, 0] > centre + 5
    assert sxy[1, px, 0] == pytest.approx(centre, abs=1e-4)
    assert sxy[1, pz, 0] < centre - 5
    assert sxy[2, px, 0] < centre - 5
    assert sxy[3, pz, 0] > centre + 5
    assert (sxy[:, py, 1] < centre - 5).all()  # +Y is up in every view
    assert sxy[0, pz, 1] == pytest.approx(centre, abs=1e-4)
    # the point facing the camera is the nearest: depth 2.2 - 0.5
    assert views.depth[0, pz] == pytest.approx(1.7, abs=1e-6)
    assert views.depth[1, px] == pytest.approx(1.7, abs=1e-6)


def test_elevation_looks_down():
    # From above (elevation 40), the origin is at the centre and a point on +Z (towards the
    # camera's side, below its line of sight) appears below the centre.
    cfg = RenderConfig(views=((40.0, 0.0),), image_size=64)
    xyz = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.5]], dtype=np.float32)
    sxy = render(Shape(xyz=xyz), cfg).screen_xy[0]
    np.testing.assert_allclose(sxy[0], [31.5, 31.5], atol=1e-4)
    assert sxy[1, 1] > 31.5 + 1 and sxy[1, 0] == pytest.approx(31.5, abs=1e-4)


# ---------------------------------------------------------------------------------------------
# (f) shading of uncoloured clouds
# ---------------------------------------------------------------------------------------------
def test_uncoloured_cloud_is_shaded_not_flat():
    shape = synthetic_cloud(4000).replace(rgb=None)  # no colours, no normals: estimated
    views = render(shape, "tiny")
    for v in range(views.n_views):
        pix = views.rgb[v][views.pix2point[v] >= 0]
        assert (pix[:, 0] == pix[:, 1]).all() and (pix[:, 1] == pix[:, 2]).all()  # grey
        assert pix[:, 0].std() > 8.0  # shaded, not flat
        assert pix.min() >= math.floor(255 * ALBEDO * AMBIENT) and pix.max() <= math.ceil(
            255 * ALBEDO * (AMBIENT + DIFFUSE)
        )


def test_headlight_is_brightest_facing_the_camera():
    # A sphere with exact normals: the point facing the camera is lit at full strength.
    shape = synthetic_cloud(3000)
    d = shape.xyz / np.linalg.norm(shape.xyz, axis=1, keepdims=True)
    sphere = Shape(xyz=d.astype(np.float32), normals=d.astype(np.float32))
    views = render(sphere, RenderConfig(views=((0.0, 0.0),), image_size=64, point_radius=0.05))
    facing = int(np.argmax(d[:, 2]))
    assert views.visible[0, facing]
    pix = views.rgb[0][views.pix2point[0] == facing]
    assert abs(int(pix[0, 0]) - 255 * ALBEDO * (AMBIENT + DIFFUSE)) <= 2


# ---------------------------------------------------------------------------------------------
# (g) a real shape
# ---------------------------------------------------------------------------------------------
def test_real_bottle_renders_in_every_view(real_dev_root):
    from partlift.geometry import normalize
    from partlift.io import load_shape

    shape = normalize(load_shape(real_dev_root / "Bottle" / "3763"))
    views = render(shape, "fast")
    assert views.rgb.shape == (10, 400, 400, 3)
    for v in range(10):
        assert (views.rgb[v] != 255).any(axis=2).mean() > 0.01
        assert views.visible[v].sum() > 0.1 * shape.n_points
    # the visible points are inside the image
    sxy = views.screen_xy[views.visible]
    assert sxy.min() > -2 and sxy.max() < 401


# ---------------------------------------------------------------------------------------------
# boundaries and the speed stage
# ---------------------------------------------------------------------------------------------
def test_input_validation():
    shape = _random_shape(0, n=10)
    with pytest.raises(InputError, match="Shape"):
        render(shape.xyz, "tiny")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="preset"):
        render(shape, "nope")
    with pytest.raises(InputError, match="device"):
        render(shape, "tiny", device="warp-drive")
    with pytest.raises(InputError, match="xyz"):
        project(np.zeros((4, 2), np.float32), camera_rig("tiny")[0], 64)
    with pytest.raises(InputError, match="square"):
        project(shape.xyz, camera_rig("tiny")[0], (64, 32))
    with pytest.raises(InputError, match="elevation"):
        render(shape, RenderConfig(views=((90.0, 0.0),), image_size=16))


def test_speed_stage_small():
    result = speed_render(2000, "cpu", preset="tiny", repeats=1)
    assert result["stage"] == "render" and result["points"] == 2000 and result["views"] == 10
    assert result["image_size"] == 128
    assert result["seconds"] > 0 and 0 < result["visible_fraction"] <= 1


def test_points_behind_camera_or_far_outside_draw_nothing():
    xy = torch.tensor([[[3.0, 3.0], [1e30, 5.0], [float("inf"), 3.0], [float("nan"), 5.0]]])
    depth = torch.tensor([[-1.0, 1.0, 1.0, 1.0]])
    out = rasterize(xy, depth, 8, 2.0, 0.01)
    assert (out == -1).all()


def test_rasterize_threads_and_chunks_give_the_same_pixels(monkeypatch):
    """CPU (numpy) path: views drawn by several threads in chunks == one thread, one chunk per view
    == the torch path (_draw, used on CUDA) on the CPU in 32,768-point chunks and in one op."""
    from partlift.render import raster
    from partlift.render.camera import camera_rig, project_torch

    cloud = synthetic_cloud(80_000)  # > 2 chunks per view
    from partlift.config import render_preset

    cfg = render_preset("partslip").replace(image_size=200)
    sxy, dep = project_torch(torch.from_numpy(cloud.xyz), camera_rig(cfg), cfg.image_size)
    sxy[0, :500] = float("nan")  # some points not drawn in view 0
    dep[1, :700] = -1.0
    threaded = raster.rasterize(sxy, dep, cfg.image_size, cfg.radius_px, cfg.znear, threads=3)
    monkeypatch.setattr(raster, "_NUMPY_CHUNK", 10**9)
    whole = raster.rasterize(sxy, dep, cfg.image_size, cfg.radius_px, cfg.znear, threads=1)
    assert (whole >= 0).any()
    assert torch.equal(threaded, whole)
    assert torch.equal(raster.rasterize(sxy, dep, cfg.image_size, cfg.radius_px, cfg.znear), whole)  # torch's count
    with pytest.raises(InputError, match="threads must be an integer >= 1"):
        raster.rasterize(sxy, dep, cfg.image_size, cfg.radius_px, cfg.znear, threads=0)
    keep = (dep > cfg.znear) & torch.isfinite(sxy).all(dim=2)
    orders = [torch.nonzero(keep[v]).squeeze(1) for v in range(len(dep))]
    for chunk in (32_768, 10**9):
        drawn = torch.empty_like(whole)
        raster._draw(list(range(len(dep))), orders, sxy, dep, drawn, cfg.radius_px, chunk)
        assert torch.equal(drawn, whole)


@pytest.mark.parametrize("coloured", [True, False])
def test_cpu_visibility_and_colours_equal_the_per_view_path(coloured):
    """render's CPU finish (views split over threads) == visible_points + _colour_views."""
    from partlift.config import render_preset
    from partlift.render import _colour_views, _visible_and_colours_cpu
    from partlift.render.camera import camera_rig, project_torch
    from partlift.render.raster import visible_points

    shape = synthetic_cloud(20_000)
    shape = shape if coloured else shape.replace(rgb=None)
    cfg = render_preset("partslip").replace(image_size=160)
    cams = camera_rig(cfg)
    xyz = torch.from_numpy(shape.xyz)
    sxy, dep = project_torch(xyz, cams, cfg.image_size)
    p2p = rasterize(sxy, dep, cfg.image_size, cfg.radius_px, cfg.znear)
    want_vis = visible_points(p2p, shape.n_points)
    want_rgb = _colour_views(shape, xyz, p2p, cfg, cams)
    for n_threads in (1, 2, 3):
        vis, rgb = _visible_and_colours_cpu(shape, xyz, p2p, cfg, cams, n_threads)
        assert torch.equal(vis, want_vis) and torch.equal(rgb, want_rgb)
    assert want_vis.any() and (want_rgb != 255).any()


def test_projection_numpy_path_equals_the_torch_ops():
    """project_torch on the CPU (numpy arrays) == the same operations on torch tensors (as on CUDA),
    bit for bit, including points at a camera centre and far away."""
    from partlift.render.camera import _project_into, project_torch

    rng = np.random.default_rng(3)
    cams = camera_rig("partslip")
    pts = np.concatenate([rng.normal(size=(3000, 3)) * 2.0, [cams[2].eye, [1e30, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    for xyz in (torch.from_numpy(pts), torch.from_numpy(pts.astype(np.float32))):
        got_xy, got_z = project_torch(xyz, cams, 800)
        want_xy = torch.empty_like(got_xy)
        want_z = torch.empty_like(got_z)
        p = xyz.to(torch.float64)
        _project_into([p[:, i].contiguous() for i in range(3)], cams, 800, 800, want_xy, want_z)
        np.testing.assert_array_equal(got_xy.numpy(), want_xy.numpy())
        np.testing.assert_array_equal(got_z.numpy(), want_z.numpy())


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.float32, torch.bool])
def test_host_buffers_are_writable_tensors_of_the_asked_shape_and_dtype(dtype):
    from partlift.render.buffers import host_empty

    buf = host_empty((3, 1500, 1500), dtype, torch.device("cpu"))  # > 4 MiB: numpy's huge-page path
    assert buf.shape == (3, 1500, 1500) and buf.dtype == dtype and buf.device.type == "cpu"
    buf.fill_(1)
    assert bool((buf == 1).all())
