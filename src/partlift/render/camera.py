"""The camera rig and the world -> screen projection of PartSLIP's renderer (METHODS §1.2).

Conventions are PyTorch3D's, derived here so that no PyTorch3D install is needed:

* ``look_at_view_transform(dist, elev, azim)`` puts the camera centre at
  ``C = dist * (cos e sin a, sin e, cos e cos a)``, looking at the origin with up ``+Y``. Its
  rotation has the camera axes as columns, ``z = normalize(0 - C)`` (the viewing direction),
  ``x = normalize(up x z)``, ``y = z x x``, and world -> view is the row-vector map
  ``X_view = X_world @ R + T`` with ``T = -R^T C``; i.e. ``X_view = ((X - C).x, (X - C).y, (X - C).z)``.
  Camera-space ``+X`` therefore points to the image's *left* and ``+Y`` up; the depth
  ``z_view`` grows away from the camera.
* ``FoVPerspectiveCameras(fov, aspect=1)``: ``x_ndc = x_view / (tan(fov/2) z_view)``, same for y.
* NDC -> screen (pixel centres at integers, x = column, y = row, origin at the top-left pixel
  centre): ``x_screen = (W - 1)/2 - (W/2) x_ndc``, ``y_screen = (H - 1)/2 - (H/2) y_ndc``. This
  is where PyTorch3D's point rasteriser places its pixel centres (it walks pixels with both axes
  reversed), so a pixel ``(row, col)`` has its centre exactly at screen ``(col, row)``.

Azimuth 0 looks from ``+Z``: world ``+X`` appears on the right of the image (larger column), world
``+Y`` at the top (smaller row). The splat radius in NDC becomes ``radius * W / 2`` pixels.

One projection implementation (:func:`project_torch`) serves the fast renderer, the slow
reference and other stages, so that their screen positions and depths agree bit for bit. It is
written as element-wise float64 operations (no matmul, whose summation order may vary) and
rounded once to float32; on the CPU they run on numpy arrays, elsewhere on torch tensors (the
same IEEE operations, the same bits; tested).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from partlift.config import RenderConfig
from partlift.errors import InputError
from partlift.render.buffers import host_empty
from partlift.types import Camera

__all__ = ["camera_rig", "view_rotation", "project", "project_torch", "image_hw", "resolve_config"]

# Cameras straight above/below the origin make ``up x z`` vanish; PyTorch3D then falls back to a
# different axis. The rigs used here never do this, so we refuse instead of guessing.
_DEGENERATE_EPS = 1e-5


def camera_rig(config: RenderConfig | str = "partslip") -> tuple[Camera, ...]:
    """The cameras of a render configuration (or preset name), in view order.

    Args:
        config: a :class:`~partlift.config.RenderConfig` or a preset name (``"partslip"``, ...).

    Returns:
        One :class:`~partlift.types.Camera` per ``config.views`` entry (elevation, azimuth in
        degrees), each at ``config.distance`` with ``config.fov``.
    """
    cfg = resolve_config(config)
    return tuple(
        Camera(elevation=float(e), azimuth=float(a), distance=float(cfg.distance), fov=float(cfg.fov))
        for e, a in cfg.views
    )


def view_rotation(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch3D's ``look_at_view_transform`` for ``camera``.

    Returns:
        ``(R, T)``: R (3, 3) float64 whose *columns* are the camera's x, y, z axes in world
        coordinates, and T (3,) float64 ``= -R^T C``, so that ``X_view = X_world @ R + T``.
    """
    if not isinstance(camera, Camera):
        raise InputError(f"expected a partlift Camera, got {type(camera).__name__}")
    eye = camera.eye
    if camera.distance <= 0:
        raise InputError(f"camera distance must be > 0, got {camera.distance}")
    z = -eye / np.linalg.norm(eye)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    nx = np.linalg.norm(x)
    if nx < _DEGENERATE_EPS:
        raise InputError(
            f"camera at elevation {camera.elevation} deg looks straight along the up axis (+Y); "
            "use an elevation strictly between -90 and 90 degrees"
        )
    x = x / nx
    y = np.cross(z, x)
    rot = np.stack([x, y, z], axis=1)
    return rot, -rot.T @ eye


def image_hw(image_size: int | tuple[int, int]) -> tuple[int, int]:
    """``(H, W)`` from an int (square) or a square ``(H, W)`` pair; validated."""
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        h = w = int(image_size)
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        h, w = (int(s) for s in image_size)
    else:
        raise InputError(f"image_size: expected an int or an (H, W) pair, got {image_size!r}")
    if h < 1 or w < 1:
        raise InputError(f"image_size: expected positive sizes, got {(h, w)}")
    if h != w:
        raise InputError(
            f"image_size: only square images are supported (aspect 1, as in PartSLIP), got {(h, w)}"
        )
    return h, w


def project_torch(
    xyz: torch.Tensor, cameras: tuple[Camera, ...], image_size: int | tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project points into several cameras (torch, on ``xyz``'s device).

    Args:
        xyz: (N, 3) float tensor, world (unit-sphere) frame.
        cameras: V cameras.
        image_size: ``H = W`` in pixels.

    Returns:
        screen_xy (V, N, 2) float32 (x = column, y = row, pixels, origin at the top-left pixel
        centre) and depth (V, N) float32 (camera-space ``z_view``; <= 0 behind the camera). Points
        with ``depth <= 0`` get meaningless screen positions (finite or not); callers mask them.
    """
    h, w = image_hw(image_size)
    p = xyz.detach().to(torch.float64)
    out_xy = host_empty((len(cameras), p.shape[0], 2), torch.float32, p.device)
    out_z = host_empty((len(cameras), p.shape[0]), torch.float32, p.device)
    if p.device.type == "cpu":
        # The same element-wise float64 operations on numpy arrays (IEEE, so the same bits):
        # numpy runs each in the calling thread, where every torch op on 100k points woke an
        # OpenMP team (issue 17, fourth round: about half the time on 2 cores).
        cols = [np.ascontiguousarray(p[:, i].numpy()) for i in range(3)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # behind the camera: masked later
            _project_into(cols, cameras, h, w, out_xy.numpy(), out_z.numpy())
    else:
        _project_into([p[:, i].contiguous() for i in range(3)], cameras, h, w, out_xy, out_z)
    return out_xy, out_z


def _project_into(cols: list, cameras: tuple[Camera, ...], h: int, w: int, out_xy: Any, out_z: Any) -> None:
    """Fill ``out_xy`` (V, N, 2) and ``out_z`` (V, N) (float32, numpy or torch) from the float64
    coordinate columns ``cols`` (3 x (N,), contiguous; numpy arrays or tensors alike)."""
    for v, cam in enumerate(cameras):
        rot, trans = view_rotation(cam)
        # X_view[j] = sum_i X[i] R[i, j] + T[j], written out element-wise in a fixed order.
        xv, yv, zv = (
            cols[0] * float(rot[0, j]) + cols[1] * float(rot[1, j]) + cols[2] * float(rot[2, j])
            + float(trans[j])
            for j in range(3)
        )
        focal = 1.0 / math.tan(math.radians(cam.fov) / 2.0)
        x_ndc = xv * focal / zv
        y_ndc = yv * focal / zv
        out_xy[v, :, 0] = (w - 1) / 2.0 - (w / 2.0) * x_ndc
        out_xy[v, :, 1] = (h - 1) / 2.0 - (h / 2.0) * y_ndc
        out_z[v] = zv


def project(
    xyz: np.ndarray, camera: Camera, image_size: int | tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Project points into one camera (numpy in, numpy out; METHODS §1.2 ``screen_coords``).

    Args:
        xyz: (N, 3) float array, world (unit-sphere) frame.
        camera: the camera.
        image_size: ``H = W`` in pixels (int or a square pair).

    Returns:
        screen_xy (N, 2) float32 in pixels (x = column, y = row, origin at the top-left pixel
        centre) and depth (N,) float32, the camera-space distance along the view axis (<= 0 for
        points behind the camera, whose screen positions are meaningless).
    """
    xyz = _check_xyz(xyz)
    if not isinstance(camera, Camera):
        raise InputError(f"expected a partlift Camera, got {type(camera).__name__}")
    with torch.inference_mode():
        sxy, z = project_torch(torch.from_numpy(xyz), (camera,), image_size)
    return sxy[0].numpy(), z[0].numpy()


def _check_xyz(xyz: np.ndarray) -> np.ndarray:
    if not isinstance(xyz, np.ndarray) or xyz.ndim != 2 or xyz.shape[1] != 3:
        got = f"shape {xyz.shape}" if isinstance(xyz, np.ndarray) else type(xyz).__name__
        raise InputError(f"xyz: expected an (N, 3) float array, got {got}")
    if xyz.dtype.kind != "f":
        raise InputError(f"xyz: expected a float array, got dtype {xyz.dtype}")
    return np.ascontiguousarray(xyz)


def resolve_config(config: RenderConfig | str) -> RenderConfig:
    """A RenderConfig from itself or a preset name; InputError for anything else."""
    from partlift.config import render_preset

    if isinstance(config, str):
        return render_preset(config)
    if not isinstance(config, RenderConfig):
        raise InputError(
            f"expected a RenderConfig or a preset name, got {type(config).__name__}"
        )
    return config
