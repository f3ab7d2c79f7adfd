"""Multi-view point splatting with an exact pixel <-> point map (METHODS §1.2, DESIGN §3).

``render(shape, "partslip")`` reproduces PartSLIP's PyTorch3D renderer without PyTorch3D: 10
cameras looking at the origin from distance 2.2 (fov 60 deg), 800 x 800 images, splats of radius
0.005 NDC (2 px) constant in screen space, one point per pixel (the nearest wins), white
background, each pixel the colour of its point. Uncoloured clouds are shaded from their normals
(:mod:`partlift.render.shading`).

Modules: :mod:`~partlift.render.camera` (rig, PyTorch3D conventions, projection),
:mod:`~partlift.render.raster` (fast exact z-buffer), :mod:`~partlift.render.reference` (slow
obviously-correct z-buffer for tests), :mod:`~partlift.render.shading` (colours). Its speed
rig (``partlift speed render``) is :mod:`partlift.bench.speed.render`.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from partlift.config import RenderConfig
from partlift.device import resolve_device
from partlift.errors import InputError
from partlift.render.buffers import host_empty
from partlift.render.camera import camera_rig, project, project_torch, resolve_config
from partlift.render.raster import check_threads, rasterize, visible_points
from partlift.render.shading import shade_headlight, shape_normals, to_uint8
from partlift.types import Shape, Views

log = logging.getLogger(__name__)

__all__ = ["render", "camera_rig", "project", "resolve_device"]

# A normalised shape has max ||xyz|| = 1; beyond this the caller most likely forgot to normalise.
_UNIT_SPHERE_TOLERANCE = 1.01


def render(
    shape: Shape, config: RenderConfig | str = "partslip", *, device: str | torch.device = "cpu",
    threads: int | None = None,
) -> Views:
    """Render ``shape`` from every camera of ``config`` (METHODS §1.2).

    The shape must already be in the unit-sphere frame (see :func:`partlift.geometry.normalize`);
    it is not normalised here, so that screen positions refer to the caller's frame. Colours come
    from ``shape.rgb``; without them each view is shaded from ``shape.normals`` (estimated when
    missing) with a headlight. Points with ``depth <= max(config.znear, 0)`` are not drawn; their
    ``screen_xy`` is meaningless (possibly inf/nan) and they are never visible.

    Args:
        shape: the point cloud, N points, unit-sphere frame.
        config: a :class:`~partlift.config.RenderConfig` or a preset name (``"partslip"``,
            ``"fast"``, ``"tiny"``).
        device: torch device for the computation (``"cpu"``, ``"cuda"``, ...); results are numpy.
        threads: CPU threads over which the views are split (None: ``torch.get_num_threads()``;
            :func:`partlift.prepare.prepare_shape` passes 1 while the superpoints run beside the
            render). The results do not depend on it.

    Returns:
        :class:`~partlift.types.Views` with V = ``len(config.views)``, H = W =
        ``config.image_size``: ``rgb`` (V, H, W, 3) uint8; ``pix2point`` (V, H, W) int64, -1 =
        background; ``screen_xy`` (V, N, 2) float32 (x = column, y = row, origin at the top-left
        pixel centre); ``visible`` (V, N) bool (owns >= 1 pixel); ``depth`` (V, N) float32
        camera-space depth; ``cameras``.
    """
    if not isinstance(shape, Shape):
        raise InputError(f"render: expected a partlift Shape (see partlift.io.load_shape), got {type(shape).__name__}")
    cfg = resolve_config(config)
    dev = resolve_device(device)
    threads = check_threads(threads)
    radius = float(np.linalg.norm(shape.xyz, axis=1).max())
    if radius > _UNIT_SPHERE_TOLERANCE:
        log.warning("render: %s reaches %.3g from the origin; renders expect the unit-sphere frame "
                    "(partlift.geometry.normalize)", shape.name, radius)
    cameras = camera_rig(cfg)
    size = cfg.image_size
    t0 = time.perf_counter()
    with torch.inference_mode():
        xyz = torch.from_numpy(np.ascontiguousarray(shape.xyz, dtype=np.float32)).to(dev)
        screen_xy, depth = project_torch(xyz, cameras, size)
        pix2point = rasterize(screen_xy, depth, size, cfg.radius_px, cfg.znear, threads=threads)
        if dev.type == "cpu":
            visible, rgb = _visible_and_colours_cpu(shape, xyz, pix2point, cfg, cameras, threads)
        else:
            visible = visible_points(pix2point, shape.n_points)
            rgb = _colour_views(shape, xyz, pix2point, cfg, cameras)
        views = Views(
            rgb=rgb.cpu().numpy(),
            pix2point=pix2point.cpu().numpy(),
            screen_xy=screen_xy.cpu().numpy(),
            visible=visible.cpu().numpy(),
            depth=depth.cpu().numpy(),
            cameras=cameras,
        )
    log.debug("rendered %s: %d points, %d views of %dx%d in %.3fs on %s", shape.name,
              shape.n_points, len(cameras), size, size, time.perf_counter() - t0, dev)
    return views


def _colour_tables(shape: Shape, xyz: torch.Tensor, cfg: RenderConfig, cameras: tuple) -> list[torch.Tensor]:
    """Per view, the (N + 1, 3) uint8 colour of every point and, in the last row, the background
    (so that ``pix2point`` indexes it as it is: -1 is the last row). One shared table for
    coloured clouds; a headlight-shaded one per view otherwise."""
    dev = xyz.device
    background = to_uint8(torch.tensor(cfg.background, dtype=torch.float32, device=dev))[None]
    if shape.rgb is not None:
        return [torch.cat([to_uint8(torch.from_numpy(shape.rgb).to(dev)), background])] * len(cameras)
    normals = torch.from_numpy(shape_normals(shape)).to(dev)
    return [torch.cat([to_uint8(shade_headlight(xyz, normals, cam)), background]) for cam in cameras]


def _visible_and_colours_cpu(
    shape: Shape, xyz: torch.Tensor, pix2point: torch.Tensor, cfg: RenderConfig, cameras: tuple, threads: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`~partlift.render.raster.visible_points` and :func:`_colour_views` on the CPU, the
    views split over ``threads`` threads as the rasteriser's (issue 17, fourth
    round): per view, the owners marked in a table whose spare last slot takes the background
    (-1), and a numpy ``take`` of the colour table (index -1 = its last row, the background).
    The same arrays (tested)."""
    n_views, h, w = pix2point.shape
    n = shape.n_points
    tables = [t.numpy() for t in _colour_tables(shape, xyz, cfg, cameras)]
    images = host_empty((n_views, h, w, 3), torch.uint8, xyz.device)
    marks = np.zeros((n_views, n + 1), dtype=bool)
    owners, pixels = pix2point.numpy(), images.numpy()

    def work(views: list[int]) -> None:
        for v in views:
            index = owners[v].reshape(-1)
            marks[v][index] = True
            np.take(tables[v], index, axis=0, out=pixels[v].reshape(-1, 3))

    views = list(range(n_views))
    workers = min(n_views, threads)
    if workers <= 1:
        work(views)
    else:
        with ThreadPoolExecutor(workers) as pool:
            for job in [pool.submit(work, views[i::workers]) for i in range(workers)]:
                job.result()
    return torch.from_numpy(np.ascontiguousarray(marks[:, :n])), images


def _colour_views(
    shape: Shape,
    xyz: torch.Tensor,
    pix2point: torch.Tensor,
    cfg: RenderConfig,
    cameras: tuple,
) -> torch.Tensor:
    """(V, H, W, 3) uint8: each pixel the 8-bit colour of its point, background elsewhere.

    The device path (torch only; the CPU uses :func:`_visible_and_colours_cpu`, and the tests run
    this one on the CPU against it, so the CUDA logic is checked without a GPU)."""
    n_views, h, w = pix2point.shape
    images = torch.empty((n_views, h, w, 3), dtype=torch.uint8, device=xyz.device)
    for v, table in enumerate(_colour_tables(shape, xyz, cfg, cameras)):
        index = torch.where(pix2point[v] < 0, len(table) - 1, pix2point[v]).view(-1)
        torch.index_select(table, 0, index, out=images[v].view(-1, 3))
    return images
