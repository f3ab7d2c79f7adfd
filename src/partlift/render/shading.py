"""Point colours for the renderer: stored colours, or headlight shading for uncoloured clouds.

PartSLIP renders the stored RGB of each point (METHODS §1.2). Clouds without colour are not
drawn flat grey (a grey silhouette gives a detector nothing to see, DESIGN §3): each point is
shaded with a Lambert term plus ambient light from a headlight at the camera centre, two-sided
because estimated normals have no reliable sign:

    colour = ALBEDO * (AMBIENT + DIFFUSE * |n . l|),   l = (eye - p) / ||eye - p||

The shaded colour depends on the view. Colours become 8-bit as ``floor(255 * c + 0.5)``.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from partlift.types import Camera, Shape

log = logging.getLogger(__name__)

__all__ = ["ALBEDO", "AMBIENT", "DIFFUSE", "shade_headlight", "to_uint8", "shape_normals"]

# Light grey surface, lit 30 % ambient + 70 % diffuse: shaded values span [0.24, 0.8] of white,
# so the shape stays distinct from the white background at grazing angles.
ALBEDO = 0.8
AMBIENT = 0.3
DIFFUSE = 0.7


def shade_headlight(xyz: torch.Tensor, normals: torch.Tensor, camera: Camera) -> torch.Tensor:
    """Two-sided Lambert + ambient shading with a point light at the camera centre.

    Args:
        xyz: (N, 3) float32 points, unit-sphere frame.
        normals: (N, 3) float32 unit normals (sign ignored).
        camera: the view's camera (its ``eye`` is the light position).

    Returns:
        (N, 3) float32 grey colours in [0, 1] on ``xyz``'s device.
    """
    eye = torch.as_tensor(camera.eye, dtype=torch.float32, device=xyz.device)
    light = eye - xyz
    light = light / light.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cos = (normals * light).sum(dim=1).abs().clamp_max(1.0)
    grey = ALBEDO * (AMBIENT + DIFFUSE * cos)
    return grey[:, None].expand(-1, 3)


def to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """Float colours in [0, 1] (any shape) to uint8 by ``floor(255 c + 0.5)`` after clamping."""
    return torch.floor(rgb.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)


def shape_normals(shape: Shape) -> np.ndarray:
    """(N, 3) float32 unit normals of ``shape``: its own, or estimated (``partlift.geometry``).

    Estimated normals use METHODS §1.4's neighbourhood (30 nearest within 0.1 of the
    unit-sphere frame); only their direction matters here, not their sign.
    """
    if shape.normals is not None:
        nrm = shape.normals.astype(np.float32, copy=False)
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        return np.where(length > 0, nrm / np.maximum(length, 1e-12), 0.0).astype(np.float32)
    from partlift.geometry import ensure_normals

    log.info("%s has neither colours nor normals: estimating normals for shading", shape.name)
    return ensure_normals(shape).normals
