"""From rendered views to the network's input tensors and per-pixel targets (one code path for
training and inference).

A view of any size H x W (the inference preset's, e.g. 800 x 800 for ``partslip``) is resampled to
the network's working resolution R x R by *foreground-weighted area pooling*: each working pixel
averages the values of the view pixels that show a point (``pix2point >= 0``) in its area, so the
input does not depend on how densely the points cover the surface (PartSLIP's 2-px splats leave
holes at 800 x 800). Channels, (8, R, R) float32:

* 0-2: RGB in [-1, 1] (the rendered colours; white where no point is seen);
* 3: foreground, 1.0 where the working pixel's area shows at least one point, else 0.0;
* 4: depth, ``2 * (depth - camera distance)`` (the object is in the unit sphere, so about
  [-2, 2]); 0 on the background;
* 5-7: unit normals of the points in the camera frame (PyTorch3D view axes, METHODS §1.2),
  signed to face the camera; 0 on the background.

Targets: the class of a working pixel is the most frequent class among the view pixels in its
area that show a point (class 0 = a point of no named part), -1 where no point is seen (ignored).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from partlift.errors import InputError
from partlift.render.camera import view_rotation
from partlift.types import Views

__all__ = ["camera_normals", "view_inputs", "view_targets", "pool_to"]

_EPS = 1e-6


def pool_to(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Area-resample (B, C, H, W) to (B, C, R, R) (adaptive average pooling; replication when
    upsampling)."""
    return F.adaptive_avg_pool2d(x, (resolution, resolution))


def camera_normals(normals: np.ndarray, views: Views) -> np.ndarray:
    """(V, N, 3) float32 normals in each view's camera frame, flipped to face the camera.

    Args:
        normals: (N, 3) float unit normals in the unit-sphere frame of the views (sign arbitrary).
        views: the rendered views (their cameras).
    """
    out = np.empty((views.n_views, normals.shape[0], 3), np.float32)
    for v, cam in enumerate(views.cameras):
        rot, _ = view_rotation(cam)
        nv = normals.astype(np.float64) @ rot  # X_view = X_world @ R
        nv *= np.where(nv[:, 2:3] > 0, -1.0, 1.0)  # +z looks into the scene
        out[v] = nv
    return out


def _check(views: Views, n_points: int, resolution: int) -> None:
    if not isinstance(views, Views):
        raise InputError(f"learned teacher: expected partlift Views, got {type(views).__name__}")
    if views.n_points != n_points:
        raise InputError(
            f"learned teacher: the views were rendered from {views.n_points} points but the shape has "
            f"{n_points}; pass the shape the views were rendered from"
        )
    if resolution < 8:
        raise InputError(f"learned teacher: resolution must be >= 8, got {resolution}")


def view_inputs(
    views: Views, normals: np.ndarray, resolution: int, *, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The network input of every view.

    Args:
        views: V rendered views (H x W).
        normals: (N, 3) float unit normals of the rendered points (unit-sphere frame).
        resolution: working resolution R.
        device: torch device of the returned tensors.

    Returns:
        ``(x, fg)``: x (V, 8, R, R) float32 (channels in the module doc), fg (V, R, R) bool.
    """
    _check(views, normals.shape[0], resolution)
    dev = torch.device(device)
    cam_n = torch.from_numpy(camera_normals(normals, views)).to(dev)
    xs, fgs = [], []
    for v, cam in enumerate(views.cameras):
        p2p = torch.from_numpy(views.pix2point[v]).to(dev)
        fg = p2p >= 0
        idx = p2p.clamp_min(0)
        rgb = torch.from_numpy(views.rgb[v]).to(dev).float().div_(255.0).permute(2, 0, 1)
        depth = torch.from_numpy(views.depth[v]).to(dev)[idx][None]
        nrm = cam_n[v][idx].permute(2, 0, 1)
        fgf = fg.float()[None]
        stack = torch.cat([rgb, depth, nrm], dim=0) * fgf
        pooled = pool_to(torch.cat([stack, fgf], dim=0)[None], resolution)[0]
        cover = pooled[-1]
        low_fg = cover > _EPS
        mean = pooled[:-1] / cover.clamp_min(_EPS)
        rgb_l = torch.where(low_fg, mean[0:3], torch.ones_like(mean[0:3])) * 2.0 - 1.0
        depth_l = torch.where(low_fg, 2.0 * (mean[3] - float(cam.distance)), torch.zeros_like(mean[3]))
        n_l = mean[4:7]
        n_l = n_l / n_l.norm(dim=0, keepdim=True).clamp_min(_EPS) * low_fg
        xs.append(torch.cat([rgb_l, low_fg.float()[None], depth_l[None], n_l], dim=0))
        fgs.append(low_fg)
    return torch.stack(xs), torch.stack(fgs)


def view_targets(views: Views, point_class: np.ndarray, resolution: int) -> torch.Tensor:
    """(V, R, R) int64 per-pixel class targets (-1 = no point seen; see the module doc).

    Args:
        views: V rendered views.
        point_class: (N,) int class of every point (0 = no named part, >= 1 = a part class).
        resolution: working resolution R.
    """
    point_class = np.asarray(point_class)
    _check(views, point_class.shape[0], resolution)
    if point_class.size and point_class.min() < 0:
        raise InputError("view_targets: point classes must be >= 0 (0 = no named part)")
    cls = torch.from_numpy(point_class.astype(np.int64))
    out = []
    for v in range(views.n_views):
        p2p = torch.from_numpy(views.pix2point[v])
        fg = p2p >= 0
        pix = torch.where(fg, cls[p2p.clamp_min(0)], torch.full_like(p2p, -1))
        present = torch.unique(pix[fg])
        if present.numel() == 0:
            out.append(torch.full((resolution, resolution), -1, dtype=torch.int64))
            continue
        onehot = (pix[None] == present[:, None, None]).float()
        frac = pool_to(onehot[None], resolution)[0]
        best, arg = frac.max(dim=0)
        out.append(torch.where(best > _EPS, present[arg], torch.full_like(arg, -1)))
    return torch.stack(out)
