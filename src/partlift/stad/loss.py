"""PartSTAD's training loss: mean relaxed IoU over parts (METHODS §3.5).

Over the valid superpoints k with n_k points, probabilities ``P[k, c]`` and GT fractions
``G[k, c]``:

    RIoU_c = sum_k n_k P G / (sum_k n_k G + sum_k n_k P - sum_k n_k P G),   0 if sum_k n_k P = 0,
    L      = mean_{c = 1..C} (1 - RIoU_c).

The null label competes in the softmax but is left out of the mean. A part absent from a shape's
GT has RIoU 0 whatever P is (released behaviour): it adds a constant 1 to the mean and no
gradient.
"""

from __future__ import annotations

import torch

from partlift.errors import InputError

__all__ = ["relaxed_iou", "mriou_loss"]


def relaxed_iou(part_probs: torch.Tensor, gt: torch.Tensor, n_points: torch.Tensor) -> torch.Tensor:
    """(C,) relaxed IoU per part.

    Args:
        part_probs: (K, C) probabilities of the parts (null column removed).
        gt: (K, C) GT fraction of each superpoint's points per part.
        n_points: (K,) points per superpoint.
    """
    if part_probs.shape != gt.shape or n_points.shape != part_probs.shape[:1]:
        raise InputError(
            f"relaxed_iou: expected probs and gt of one (K, C) shape and (K,) sizes, got "
            f"{tuple(part_probs.shape)}, {tuple(gt.shape)}, {tuple(n_points.shape)}"
        )
    n = n_points[:, None]
    inter = (n * part_probs * gt).sum(dim=0)
    pred = (n * part_probs).sum(dim=0)
    union = (n * gt).sum(dim=0) + pred - inter
    ok = pred > 0
    return torch.where(ok, inter / torch.where(ok, union, torch.ones_like(union)), torch.zeros_like(inter))


def mriou_loss(probs: torch.Tensor, gt: torch.Tensor, n_points: torch.Tensor) -> torch.Tensor:
    """0-d ``mean_c (1 - RIoU_c)`` from (K, C + 1) probabilities (column 0 = null), (K, C) GT."""
    if probs.ndim != 2 or probs.shape[1] != gt.shape[1] + 1:
        raise InputError(
            f"mriou_loss: expected (K, C + 1) probabilities for (K, C) GT, got {tuple(probs.shape)} "
            f"and {tuple(gt.shape)}"
        )
    return (1.0 - relaxed_iou(probs[:, 1:], gt, n_points)).mean()
