"""2D boxes: IoU, clipping and non-maximum suppression (the one copy of each).

Boxes are screen ``xyxy`` (x = column, y = row, pixels; see :mod:`partlift.types`). Areas are
continuous: a box of zero width has area 0, and the IoU is 0 where the union is empty.

* :func:`box_iou` — numpy, broadcast over leading axes, float64 (voting, PartSTAD, references);
* :func:`pairwise_box_iou`, :func:`clip_boxes`, :func:`nms`, :func:`batched_nms` — torch, for
  teachers' post-processing on their device (no torchvision).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["box_iou", "pairwise_box_iou", "clip_boxes", "nms", "batched_nms"]


def box_iou(a: Any, b: Any) -> np.ndarray:
    """IoU of xyxy boxes ``a`` (..., 4) and ``b`` (..., 4), broadcast, float64.

    Areas are continuous (a box of zero width has area 0); the IoU is 0 where the union is 0.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (
        b[..., 3] - b[..., 1]
    ) - inter
    out = np.zeros(np.broadcast(inter, union).shape, np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def clip_boxes(boxes: Any, height: int, width: int) -> Any:
    """Clip screen ``xyxy`` boxes (..., 4) (torch) to the image extent ``[-0.5, W-0.5] x [-0.5, H-0.5]``."""
    import torch

    x = boxes[..., 0::2].clamp(-0.5, width - 0.5)
    y = boxes[..., 1::2].clamp(-0.5, height - 0.5)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)


def pairwise_box_iou(a: Any, b: Any) -> Any:
    """(A, B) IoU of torch ``xyxy`` boxes ``a`` (A, 4) and ``b`` (B, 4); 0 where the union is empty."""
    import torch

    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), 0.0)


def nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
    """Greedy non-maximum suppression in plain torch (no torchvision).

    Boxes are visited by decreasing score (ties: lower index first); a box is dropped when its
    IoU with an already kept box is *greater than* ``iou_threshold`` (torchvision's rule).

    Returns:
        (K,) int64 indices of the kept boxes, by decreasing score.
    """
    import torch

    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    over = (pairwise_box_iou(boxes[order], boxes[order]) > iou_threshold).cpu().numpy()
    suppressed = np.zeros(order.shape[0], dtype=bool)
    keep = []
    for i in range(order.shape[0]):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= over[i]
    return order[torch.tensor(keep, dtype=torch.long, device=order.device)]


def batched_nms(boxes: Any, scores: Any, labels: Any, iou_threshold: float) -> Any:
    """Class-wise NMS: boxes of different ``labels`` never suppress each other.

    Returns (K,) int64 indices of the kept boxes, by decreasing score.
    """
    import torch

    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    # Offset each class to its own region of the plane (torchvision's trick), then one NMS.
    span = (boxes.max() - boxes.min()).abs() + 1.0
    shifted = boxes + (labels.to(boxes.dtype) * span)[:, None]
    return nms(shifted, scores, iou_threshold)
