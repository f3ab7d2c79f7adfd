"""2D evaluation of the learned teacher: per-part IoU of its class maps at the working resolution.

The predicted class of a working pixel is the argmax over the category's classes; the ground
truth is :func:`~partlift.teachers.learned.inputs.view_targets` (the views' pixel -> point maps
applied to the point labels). IoU is accumulated over every foreground pixel of a set of views
(per category and part name), background pixels are ignored, and a category's mIoU is the mean
over its part names (not "no part"); the overall mIoU is the mean over categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from partlift.errors import InputError
from partlift.teachers.learned.checkpoint import Vocabulary
from partlift.teachers.learned.data import Examples
from partlift.teachers.learned.inputs import view_inputs, view_targets
from partlift.teachers.learned.network import PartUNet

__all__ = ["IoUCounter", "predict_classes", "evaluate_examples", "evaluate_shapes"]


class IoUCounter:
    """Accumulates intersections and unions per (category, class) over many views."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        k = len(vocab.classes)
        self.inter = np.zeros((len(vocab.categories), k), np.int64)
        self.union = np.zeros((len(vocab.categories), k), np.int64)

    def add(self, pred: torch.Tensor, target: torch.Tensor, category: torch.Tensor) -> None:
        """pred, target (B, R, R) int64 (target -1 = ignore), category (B,) int64."""
        k = len(self.vocab.classes)
        for p, t, c in zip(pred.cpu(), target.cpu(), category.cpu(), strict=True):
            valid = t >= 0
            p, t = p[valid], t[valid]
            inter = torch.bincount(t[p == t], minlength=k).numpy()
            area_p = torch.bincount(p, minlength=k).numpy()
            area_t = torch.bincount(t, minlength=k).numpy()
            self.inter[int(c)] += inter
            self.union[int(c)] += area_p + area_t - inter

    def report(self) -> dict[str, Any]:
        """``{"miou", "categories": {cat: {"miou", "parts": {name: iou or None}}}}``; a part that is
        neither predicted nor present gets None and is left out of the means."""
        cls_index = {n: i for i, n in enumerate(self.vocab.classes)}
        cats: dict[str, Any] = {}
        for c, cat in enumerate(self.vocab.categories):
            parts = {}
            for name in self.vocab.part_names[cat]:
                j = cls_index[name]
                u = int(self.union[c, j])
                parts[name] = None if u == 0 else float(self.inter[c, j] / u)
            vals = [v for v in parts.values() if v is not None]
            if int(self.union[c].sum()) == 0:
                continue
            cats[cat] = {"miou": float(np.mean(vals)) if vals else None, "parts": parts}
        means = [d["miou"] for d in cats.values() if d["miou"] is not None]
        return {"miou": float(np.mean(means)) if means else None, "categories": cats}


def predict_classes(model: PartUNet, x: torch.Tensor, category: torch.Tensor, class_mask: torch.Tensor,
                    *, batch_size: int = 16) -> torch.Tensor:
    """(B, R, R) int64 argmax class of every working pixel (no grad, eval mode)."""
    out = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            logits, _ = model(x[s:s + batch_size], category[s:s + batch_size], class_mask)
            out.append(logits.argmax(dim=1))
    model.train(was_training)
    return torch.cat(out)


def evaluate_examples(model: PartUNet, vocab: Vocabulary, examples: Examples, *,
                      device: str | torch.device = "cpu", batch_size: int = 16) -> dict[str, Any]:
    """2D IoU report (see :meth:`IoUCounter.report`) of ``model`` on stored examples."""
    dev = torch.device(device)
    mask = vocab.class_mask().to(dev)
    counter = IoUCounter(vocab)
    for s in range(0, len(examples), batch_size):
        idx = np.arange(s, min(s + batch_size, len(examples)))
        x, t, c = examples.inputs(idx)
        pred = predict_classes(model, x.to(dev), c.to(dev), mask, batch_size=batch_size)
        counter.add(pred, t, c)
    return counter.report()


def evaluate_shapes(model: PartUNet, vocab: Vocabulary, shapes: Iterable[Any], *, preset: Any = "partslip",
                    device: str | torch.device = "cpu") -> dict[str, Any]:
    """2D IoU report of ``model`` on labelled shapes (e.g. real PartNet-E ones), each normalised,
    given estimated normals and rendered with ``preset`` exactly as the pipeline does; ground truth
    comes through the same pixel -> point maps. Per-shape mIoUs are added under ``"shapes"``."""
    from partlift.geometry import ensure_normals, normalize
    from partlift.render import render

    dev = torch.device(device)
    mask = vocab.class_mask().to(dev)
    counter = IoUCounter(vocab)
    per_shape: dict[str, Any] = {}
    r = model.config.resolution
    for shape in shapes:
        if not shape.has_labels:
            raise InputError(f"evaluate_shapes: {shape.name} has no labels")
        cid = vocab.category_index(shape.category)
        norm = normalize(shape)
        est = ensure_normals(norm.replace(normals=None))
        views = render(norm if norm.normals is not None else est, preset, device=dev)
        x, _ = view_inputs(views, est.normals, r, device=dev)
        cls = vocab.point_classes(shape.category, shape.semantic, tuple(shape.part_names))
        t = view_targets(views, cls, r)
        c = torch.full((x.shape[0],), cid, dtype=torch.int64)
        pred = predict_classes(model, x, c.to(dev), mask)
        counter.add(pred, t, c)
        one = IoUCounter(vocab)
        one.add(pred, t, c)
        per_shape[shape.name] = one.report()["miou"]
    rep = counter.report()
    rep["shapes"] = per_shape
    return rep


def format_report(report: dict[str, Any], names: Sequence[str] | None = None) -> str:
    """A few text lines: overall mIoU, then per category its mIoU and part IoUs (in %)."""
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}"

    lines = [f"2D mIoU {pct(report['miou'])}"]
    for cat, d in report["categories"].items():
        if names is not None and cat not in names:
            continue
        parts = ", ".join(f"{n} {pct(v)}" for n, v in d["parts"].items())
        lines.append(f"  {cat}: {pct(d['miou'])} ({parts})")
    return "\n".join(lines)
