"""Batch-time augmentation of the learned teacher's training views (seeded, numpy-driven).

Applied to a batch ``x (B, 8, R, R)`` / ``target (B, R, R)`` from
:meth:`~partlift.teachers.learned.data.Examples.inputs` (channels in
:mod:`~partlift.teachers.learned.inputs`), every choice drawn from the caller's generator:

* random crop of ``crop`` x ``crop`` pixels (the network is fully convolutional);
* horizontal flip (the camera-frame normal's x component changes sign);
* lighting: RGB scaled by ``a + (1 - a) * |n_z|`` (a headlight from the normals), ``a`` in
  [0.35, 0.9], with probability 0.5;
* colour: brightness and contrast jitter, a random channel permutation, greyscale (p = 0.2);
* partial occlusion (p = 0.35): a random rectangle (15-45 % of each side) becomes background in
  the input and is ignored in the target.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["augment_batch"]


def augment_batch(
    x: torch.Tensor, target: torch.Tensor, rng: np.random.Generator, crop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented copies ``(x (B, 8, crop, crop), target (B, crop, crop))``; see the module doc."""
    b, _, r, _ = x.shape
    xs, ts = [], []
    for i in range(b):
        xi, ti = x[i].clone(), target[i].clone()
        if crop < r:
            oy, ox = (int(v) for v in rng.integers(0, r - crop + 1, size=2))
            xi, ti = xi[:, oy:oy + crop, ox:ox + crop], ti[oy:oy + crop, ox:ox + crop]
        if rng.random() < 0.5:
            xi, ti = xi.flip(-1), ti.flip(-1)
            xi[5] = -xi[5]
        fg = xi[3] > 0.5
        rgb = (xi[0:3] + 1.0) * 0.5
        if rng.random() < 0.5:
            a = float(rng.uniform(0.35, 0.9))
            rgb = rgb * (a + (1.0 - a) * xi[7].abs())[None]
        rgb = (rgb - 0.5) * float(rng.uniform(0.7, 1.3)) + 0.5 + float(rng.uniform(-0.15, 0.15))
        rgb = rgb[torch.from_numpy(rng.permutation(3))]
        if rng.random() < 0.2:
            rgb = rgb.mean(dim=0, keepdim=True).expand(3, -1, -1)
        rgb = rgb.clamp(0.0, 1.0)
        rgb = torch.where(fg[None], rgb, torch.ones_like(rgb))
        xi[0:3] = rgb * 2.0 - 1.0
        if rng.random() < 0.35:
            c = xi.shape[-1]
            hh, ww = (int(rng.uniform(0.15, 0.45) * c) for _ in range(2))
            y0, x0 = int(rng.integers(0, c - hh + 1)), int(rng.integers(0, c - ww + 1))
            xi[0:3, y0:y0 + hh, x0:x0 + ww] = 1.0
            xi[3:, y0:y0 + hh, x0:x0 + ww] = 0.0
            ti[y0:y0 + hh, x0:x0 + ww] = -1
        xs.append(xi)
        ts.append(ti)
    return torch.stack(xs), torch.stack(ts)
