"""Inputs of PartSTAD's weight net: teacher feature ⊕ NeRF encoding of (view, box) (METHODS §3.3).

``x_d = [f_d ; gamma(q_d)]`` with ``q_d = [view vector of v_d (3) ; box corners (4)]`` and
``gamma(q) = [q, sin(2^0 q), cos(2^0 q), ..., sin(2^(L-1) q), cos(2^(L-1) q)]`` (sin before cos
within a frequency, the input first), ``7 (1 + 2 L)`` values, 147 for L = 10.

Two released-code quirks (§3.11.1-2) are reproduced only with ``released_quirks=True``:

* view vector: the elevation is used as a polar angle (``y = cos e``, ``z = sin e cos a``,
  ``x = sin e sin a``) and every component below 1e-9, negatives included, becomes 0, so several
  views share one code. Default: the true unit direction from the origin to the camera
  (:attr:`partlift.types.Camera.direction`).
* box corners: ``[x1, y1, w, h]`` is read as ``(x, y, h, w)``, so the second corner is
  ``((x1 + h) / W, (y1 + w) / H)``. Default: ``(x1 / W, y1 / H, x2 / W, y2 / H)``.

Box coordinates are divided by the image size, so weights trained on one render preset are valid
for another with the same camera rig.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from partlift.errors import InputError
from partlift.stad.config import StadConfig
from partlift.types import Camera, Predictions

__all__ = ["positional_encoding", "view_vectors", "box_corners", "prediction_inputs", "input_dim"]

_QUIRK_ZERO = 1e-9
"""Released view vectors: components below this (negatives included) are set to 0 (§3.3)."""


def positional_encoding(q: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """NeRF encoding of ``q`` (B, K) float -> (B, K (1 + 2 n_freqs)), same dtype and device.

    Layout: ``[q, sin(q), cos(q), sin(2q), cos(2q), ..., sin(2^(L-1) q), cos(2^(L-1) q)]``.
    """
    if q.ndim != 2:
        raise InputError(f"positional_encoding: expected a (B, K) tensor, got shape {tuple(q.shape)}")
    if n_freqs < 0:
        raise InputError(f"positional_encoding: expected n_freqs >= 0, got {n_freqs}")
    parts = [q]
    for i in range(n_freqs):
        scaled = q * float(2.0**i)
        parts.append(torch.sin(scaled))
        parts.append(torch.cos(scaled))
    return torch.cat(parts, dim=1)


def view_vectors(cameras: Sequence[Camera], released_quirk: bool = False) -> np.ndarray:
    """(V, 3) float64 view vector of each camera (see the module docstring for the quirk)."""
    if not len(cameras):
        raise InputError("view_vectors: expected at least one camera, got none")
    if not released_quirk:
        return np.stack([np.asarray(c.direction, np.float64) for c in cameras])
    out = np.empty((len(cameras), 3), np.float64)
    for i, c in enumerate(cameras):
        theta, phi = np.deg2rad(c.elevation), np.deg2rad(c.azimuth)
        out[i] = (np.sin(theta) * np.sin(phi), np.cos(theta), np.sin(theta) * np.cos(phi))
    out[out < _QUIRK_ZERO] = 0.0
    return out


def box_corners(boxes: np.ndarray, image_size: tuple[int, int], released_quirk: bool = False) -> np.ndarray:
    """(D, 4) float64 normalised box corners from (D, 4) xyxy screen pixels and (H, W).

    Default ``(x1 / W, y1 / H, x2 / W, y2 / H)``; with the quirk the second corner is
    ``((x1 + h) / W, (y1 + w) / H)`` (width and height swapped, §3.11.1).
    """
    b = np.asarray(boxes, np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise InputError(f"box_corners: expected (D, 4) xyxy boxes, got shape {b.shape}")
    h, w = image_size
    x1, y1, x2, y2 = b.T
    if released_quirk:
        bw, bh = x2 - x1, y2 - y1
        x2, y2 = x1 + bh, y1 + bw
    return np.stack([x1 / w, y1 / h, x2 / w, y2 / h], axis=1)


def input_dim(feature_dim: int, config: StadConfig) -> int:
    """Length of the weight net's input: ``feature_dim + config.encoding_dim``."""
    return int(feature_dim) + config.encoding_dim


def prediction_inputs(
    preds: Predictions, cameras: Sequence[Camera], config: StadConfig
) -> torch.Tensor:
    """(D, F + E) float32 weight-net input per prediction (CPU; move it with ``.to(device)``).

    Args:
        preds: D predictions with (D, F) features, (D, 4) xyxy boxes and view indices.
        cameras: the cameras of the views ``preds.view`` indexes.
        config: ``pos_enc``, ``n_freqs`` and ``released_quirks``.
    """
    if not isinstance(preds, Predictions):
        raise InputError(f"prediction_inputs: expected Predictions, got {type(preds).__name__}")
    if len(preds) and int(preds.view.max()) >= len(cameras):
        raise InputError(
            f"prediction_inputs: predictions reference view {int(preds.view.max())} but only "
            f"{len(cameras)} cameras were given; pass the cameras of the views they were made on"
        )
    feats = torch.from_numpy(np.ascontiguousarray(preds.features, np.float32))
    if not torch.isfinite(feats).all():
        raise InputError("prediction_inputs: the teacher's features contain NaN or infinite values")
    if not config.pos_enc:
        return feats
    if len(preds):
        dirs = view_vectors(cameras, config.released_quirks)[preds.view]
    else:
        dirs = np.zeros((0, 3))
    corners = box_corners(preds.boxes, preds.image_size, config.released_quirks)
    q = torch.from_numpy(np.concatenate([dirs, corners], axis=1).astype(np.float32))
    return torch.cat([feats, positional_encoding(q, config.n_freqs)], dim=1)
