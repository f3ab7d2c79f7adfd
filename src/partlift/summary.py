"""JSON summaries of segmentation results, with accuracy when ground truth is known."""

from __future__ import annotations

from typing import Any

import numpy as np

from partlift.part_labels import PartLabels
from partlift.types import Shape


def remap_labels(labels: np.ndarray, src_names: tuple[str, ...], dst_names: tuple[str, ...]) -> np.ndarray:
    """(N,) labels indexing ``src_names`` re-expressed as indices into ``dst_names`` (-1 if absent)."""
    lut = np.array([dst_names.index(n) if n in dst_names else -1 for n in src_names] + [-1], np.int64)
    return lut[np.where(labels < 0, len(src_names), labels)]


def ground_truth_for(shape: Shape, part_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """The shape's (semantic, instance) ground truth in ``part_names`` order, or None if it has none.

    Ground-truth parts not in ``part_names`` become -1 (and their instances -1).
    """
    if shape.semantic is None or shape.part_names is None:
        return None
    sem = remap_labels(shape.semantic, tuple(shape.part_names), tuple(part_names))
    ins = shape.instance if shape.instance is not None else np.full_like(sem, -1)
    return sem, np.where(sem < 0, -1, ins).astype(np.int64)


def segmentation_summary(shape: Shape, labels: PartLabels) -> dict[str, Any]:
    """A JSON-ready dict: parts, point and instance counts, timings, settings, and mIoU / mAP50
    (METHODS §1.6) when ``shape`` carries ground truth for the requested parts."""
    from partlift.metrics import InstanceAP, SemanticIoU

    names = tuple(labels.part_names)
    instances = {}
    for c, name in enumerate(names):
        ids = np.unique(labels.instance[(labels.semantic == c) & (labels.instance >= 0)])
        instances[name] = int(ids.size)
    summary: dict[str, Any] = {
        "shape": shape.name,
        "category": shape.category,
        "n_points": labels.n_points,
        "parts": list(names),
        "points_per_part": labels.counts(),
        "unlabelled_points": int((labels.semantic < 0).sum()),
        "instances_per_part": instances,
        "method": labels.meta.get("method"),
        "teacher": labels.meta.get("teacher"),
        "timings": labels.meta.get("timings", {}),
        "settings": {k: v for k, v in labels.meta.items() if k not in ("timings",)},
        "miou": None,
        "map50": None,
    }
    gt = ground_truth_for(shape, names)
    if gt is not None and (gt[0] >= 0).any():
        iou = SemanticIoU(names)
        iou.add(labels.semantic, gt[0])
        summary["miou"] = float(iou.category_miou())
        summary["iou_per_part"] = {k: float(v) for k, v in iou.per_part().items()}
        if shape.instance is not None:
            ap = InstanceAP(names)
            ap.add(labels.semantic, labels.instance, gt[0], gt[1])
            summary["map50"] = float(ap.category_map())
    return summary
