"""From rendered views to the network's input tensors and per-pixel targets (one code path for
training and inference).

A view of any size H x W (the inference preset's, e.g. 800 x 800 for ``partslip``) is resampled to
the network's working resolution R x R by *foreground-weighted area pooling*: each working pixel
averages the values of the view pixels that show a point (``pix2point >= 0``) in its area
(the windows of adaptive average pooling, computed sparsely over the object's pixels), so the
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


def _windows(size: int, resolution: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Adaptive-pooling windows along one axis: for every input index, its first window, the
    second one (or -1; windows overlap by at most one index) and their weights 1 / window length."""
    i = torch.arange(resolution)
    start = (i * size) // resolution
    end = -((-(i + 1) * size) // resolution)  # ceil
    first = torch.full((size,), -1, dtype=torch.int64)
    second = torch.full((size,), -1, dtype=torch.int64)
    for k in range(resolution):  # R iterations, tiny
        rng = torch.arange(int(start[k]), int(end[k]))
        free = first[rng] < 0
        first[rng[free]] = k
        second[rng[~free]] = k
    length = (end - start).double()
    w_first = 1.0 / length[first]
    w_second = torch.where(second >= 0, 1.0 / length[second.clamp_min(0)], torch.zeros(size, dtype=torch.float64))
    return first.to(device), second.clamp_min(0).to(device), w_first.float().to(device), w_second.float().to(device)


def sparse_pool(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, size: tuple[int, int],
                resolution: int, windows: tuple[tuple[torch.Tensor, ...], ...] | None = None) -> torch.Tensor:
    """:func:`pool_to` of an image that is zero except at pixels ``(rows, cols)``.

    Args:
        rows, cols: (n,) int64 pixel coordinates; values: (n, C) float32; size: (H, W).
        windows: the row and column ``_windows`` when the caller has them (many views of one size).

    Returns:
        (C, R, R) float32, equal (up to float rounding) to adaptive average pooling of the dense
        image, at a cost proportional to n instead of H * W.
    """
    h, w = size
    if h < resolution or w < resolution:
        raise InputError(f"sparse_pool: only downsampling is supported, got {(h, w)} -> {resolution}")
    dev = values.device
    if windows is None:
        windows = (_windows(h, resolution, dev), _windows(w, resolution, dev))
    (r1, r2, rw1, rw2), (c1, c2, cw1, cw2) = windows
    acc = torch.zeros(resolution * resolution, values.shape[1], dtype=values.dtype, device=dev)
    for ri, rw in ((r1, rw1), (r2, rw2)):
        for ci, cw in ((c1, cw1), (c2, cw2)):
            wgt = rw[rows] * cw[cols]
            keep = wgt > 0
            idx = ri[rows[keep]] * resolution + ci[cols[keep]]
            acc.index_add_(0, idx, values[keep] * wgt[keep, None])
    return acc.T.reshape(values.shape[1], resolution, resolution)


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
    h, w = views.image_size
    sparse = h >= resolution and w >= resolution
    windows = (_windows(h, resolution, dev), _windows(w, resolution, dev)) if sparse else None
    for v, cam in enumerate(views.cameras):
        flat = np.flatnonzero(views.pix2point[v].ravel() >= 0)
        pts = torch.from_numpy(views.pix2point[v].ravel()[flat]).to(dev)
        pix = torch.from_numpy(flat).to(dev)
        rgb = torch.from_numpy(views.rgb[v].reshape(-1, 3)[flat]).to(dev).float() / 255.0
        depth = torch.from_numpy(views.depth[v]).to(dev)[pts][:, None]
        ones = torch.ones_like(depth)
        vals = torch.cat([rgb, depth, cam_n[v][pts], ones], dim=1)  # (n, 8)
        if sparse:
            pooled = sparse_pool(pix // w, pix % w, vals, (h, w), resolution, windows)
        else:  # upsampling: windows overlap more; the dense image is small anyway
            dense = torch.zeros(h * w, vals.shape[1], device=dev)
            dense[pix] = vals
            pooled = pool_to(dense.T.reshape(1, -1, h, w), resolution)[0]
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
    h, w = views.image_size
    sparse = h >= resolution and w >= resolution
    windows = (_windows(h, resolution, torch.device("cpu")), _windows(w, resolution, torch.device("cpu"))) \
        if sparse else None
    out = []
    for v in range(views.n_views):
        flat = np.flatnonzero(views.pix2point[v].ravel() >= 0)
        if flat.size == 0:
            out.append(torch.full((resolution, resolution), -1, dtype=torch.int64))
            continue
        pix_cls = cls[torch.from_numpy(views.pix2point[v].ravel()[flat])]
        present, inv = torch.unique(pix_cls, return_inverse=True)
        onehot = F.one_hot(inv, len(present)).float()
        pix = torch.from_numpy(flat)
        if sparse:
            frac = sparse_pool(pix // w, pix % w, onehot, (h, w), resolution, windows)
        else:
            dense = torch.zeros(h * w, len(present))
            dense[pix] = onehot
            frac = pool_to(dense.T.reshape(1, -1, h, w), resolution)[0]
        best, arg = frac.max(dim=0)
        out.append(torch.where(best > _EPS, present[arg], torch.full_like(arg, -1)))
    return torch.stack(out)
