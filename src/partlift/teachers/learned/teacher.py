"""The learned teacher: per-view part regions from the trained 2D network (DESIGN §3 "Teachers").

For each view (METHODS §1.2 renders, any preset), the network sees the view resampled to its
working resolution R (:mod:`partlift.teachers.learned.inputs`) and the shape's category, and
gives a softmax over "no part" and the category's parts per working pixel. Then, per view:

1. ``class map`` = argmax over the category's classes, on pixels that show the object;
2. for each *asked-for* part, its pixels are split into 8-connected components; a component of
   at least ``min_pixels`` working pixels is one prediction (one part instance);
3. ``masks`` (D, H, W) bool at the view's resolution: the component upsampled (nearest:
   view pixel ``(y, x)`` takes working pixel ``(floor(y R / H), floor(x R / W))``; boundaries are
   as precise as the working resolution, ``H / R`` view pixels);
   ``boxes`` = the mask's bounding box in screen pixels (``x1 = min col - 0.5`` ...);
   ``score`` = mean probability of the part over the component;
   ``features`` (D, w) = the decoder's last feature map averaged over the component (the role of
   GLIP's feature in PartSTAD's weight net, METHODS §3.3).

Modes (the ``mode`` option): ``"mask"`` (default; boxes + masks: a box teacher for PartSLIP, a
mask teacher with features for PartSTAD), ``"box"`` (boxes only), ``"pixel"`` (one region per
view and part = the union of its components, PartDistill's P-VLM role, METHODS §4.2).

It is a *closed-vocabulary* teacher: it knows the PartNet-E part names of the categories it was
trained on (generated shapes only) and nothing else; it is not a vision-language model.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from partlift.errors import InputError
from partlift.teachers.learned.checkpoint import Vocabulary, load_checkpoint
from partlift.teachers.learned.inputs import view_inputs
from partlift.teachers.learned.network import PartUNet
from partlift.types import Predictions, Shape, Views

__all__ = ["LearnedTeacher", "MODES", "default_min_pixels", "mask_box"]

log = logging.getLogger(__name__)

MODES: dict[str, str] = {"mask": "mask", "box": "box", "pixel": "pixel"}
"""Output mode -> teacher kind."""

_EIGHT = np.ones((3, 3), dtype=bool)


def default_min_pixels(resolution: int) -> int:
    """Smallest component kept, in working pixels: 0.03 % of the image, at least 4."""
    return max(4, int(round(3e-4 * resolution * resolution)))


def mask_box(mask: np.ndarray) -> np.ndarray:
    """(4,) float32 screen ``xyxy`` box around a non-empty (H, W) bool mask (pixel centres inside)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0] - 0.5, rows[0] - 0.5, cols[-1] + 0.5, rows[-1] + 0.5], np.float32)


def _check_names(part_names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(part_names, str) or not isinstance(part_names, Sequence) or not part_names:
        raise InputError(f"learned teacher: part_names must be a non-empty list of strings, got {part_names!r}")
    names = tuple(part_names)
    if any(not isinstance(n, str) or not n.strip() for n in names):
        raise InputError(f"learned teacher: part names must be non-empty strings, got {list(names)}")
    low = [n.strip().lower() for n in names]
    if len(set(low)) != len(low):
        raise InputError(f"learned teacher: part names must be distinct, got {list(names)}")
    return names


class LearnedTeacher:
    """The trained network as a partlift teacher (see the module doc).

    Args:
        model: the network (eval mode is set here).
        vocab: its categories and part names.
        header: the checkpoint header (kept for ``meta`` and ``partlift teachers``).
        source: the checkpoint file (its name and content hash go into :attr:`name`).
        device: torch device the network runs on.
        mode: "mask", "box" or "pixel".
        min_pixels: smallest component kept, working pixels (default :func:`default_min_pixels`).
        batch_size: views per forward pass.
    """

    needs_ground_truth = False
    needs_category = True  # predictions depend on shape.category (part of the cache key)

    def __init__(
        self,
        model: PartUNet,
        vocab: Vocabulary,
        header: dict[str, Any],
        *,
        source: str = "",
        device: str | torch.device = "cpu",
        mode: str = "mask",
        min_pixels: int | None = None,
        batch_size: int = 10,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"learned teacher: mode must be one of {sorted(MODES)}, got {mode!r}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.vocab = vocab
        self.header = header
        self.mode = mode
        self.kind = MODES[mode]
        self.resolution = int(model.config.resolution)
        self.min_pixels = default_min_pixels(self.resolution) if min_pixels is None else int(min_pixels)
        if self.min_pixels < 1 or int(batch_size) < 1:
            raise InputError(f"learned teacher: min_pixels and batch_size must be >= 1, got "
                             f"{self.min_pixels}, {batch_size}")
        self.batch_size = int(batch_size)
        self.source = source
        self._class_mask = vocab.class_mask().to(self.device)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device = "cpu", **options: Any) -> LearnedTeacher:
        """Load a checkpoint written by :func:`partlift.teachers.learned.train.train_teacher`."""
        from partlift.render import resolve_device

        dev = resolve_device(device)
        model, vocab, header = load_checkpoint(path, device=dev)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]
        return cls(model, vocab, header, source=f"{Path(path).name},{digest}", device=dev, **options)

    @property
    def name(self) -> str:
        extra = "" if self.mode == "mask" else f",{self.mode}"
        if self.min_pixels != default_min_pixels(self.resolution):
            extra += f",min={self.min_pixels}"
        return f"learned({self.source}{extra})"

    @property
    def feature_dim(self) -> int:
        return int(self.model.config.width)

    @property
    def categories(self) -> tuple[str, ...]:
        return self.vocab.categories

    def _normals(self, shape: Shape) -> np.ndarray:
        if shape.normals is not None:
            return shape.normals
        from partlift.geometry import ensure_normals

        return ensure_normals(shape).normals

    def probabilities(self, views: Views, shape: Shape) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(prob (V, K, R, R), features (V, w, R, R), foreground (V, R, R) bool)`` on the device."""
        if not isinstance(shape, Shape):
            raise InputError(
                "learned teacher: needs the shape the views were rendered from (its category and "
                f"normals), got {type(shape).__name__}"
            )
        cid = self.vocab.category_index(shape.category)
        x, fg = view_inputs(views, self._normals(shape), self.resolution, device=self.device)
        probs, feats = [], []
        with torch.no_grad():
            for s in range(0, x.shape[0], self.batch_size):
                xb = x[s:s + self.batch_size]
                cat = torch.full((xb.shape[0],), cid, dtype=torch.int64, device=self.device)
                logits, f = self.model(xb, cat, self._class_mask)
                probs.append(logits.softmax(dim=1))
                feats.append(f)
        return torch.cat(probs), torch.cat(feats), fg

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        """Part instances on every view (see the module doc).

        Args:
            views: V rendered views of ``shape`` (any resolution H x W).
            part_names: C distinct part names the checkpoint knows for the shape's category.
            shape: the shape the views were rendered from (unit-sphere frame); its ``category``
                selects the category, its normals (estimated when missing) feed the network.

        Returns:
            Predictions ordered by view, part, then component size (largest first): ``boxes``
            (D, 4) float32, ``masks`` (D, H, W) bool (None in "box" mode), ``score`` (D,) float32,
            ``features`` (D, w) float32.

        Raises:
            InputError: unknown category (or none), a part name it does not know for the
                category (the message lists the ones it knows), views / shape mismatch.
        """
        names = _check_names(part_names)
        if not isinstance(shape, Shape):
            raise InputError(f"learned teacher: expected the rendered Shape, got {type(shape).__name__}")
        classes = self.vocab.part_classes(shape.category, names)
        if not isinstance(views, Views):
            raise InputError(f"learned teacher: expected partlift Views, got {type(views).__name__}")
        h, w = views.image_size
        prob, feats, fg = self.probabilities(views, shape)
        cls_map = torch.where(fg, prob.argmax(dim=1), torch.full_like(fg, -1, dtype=torch.int64)).cpu().numpy()
        # nearest-neighbour upsampling R -> (H, W): view pixel (y, x) reads working pixel
        # (floor(y R / H), floor(x R / W)), as F.interpolate(mode="nearest")
        up_r = (np.arange(h) * self.resolution) // h
        up_c = (np.arange(w) * self.resolution) // w
        rows: list[tuple[int, int, float, np.ndarray, np.ndarray]] = []
        for v in range(views.n_views):
            for k, c in enumerate(classes):
                comp, n = ndimage.label(cls_map[v] == c, structure=_EIGHT)
                if n == 0:
                    continue
                sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
                keep = [i + 1 for i in np.argsort(-sizes, kind="stable") if sizes[i] >= self.min_pixels]
                if not keep:
                    continue
                if self.mode == "pixel":
                    comp = np.where(np.isin(comp, keep), 1, 0)
                    keep = [1]
                hi_comp = comp[up_r][:, up_c]
                for i in keep:
                    region = torch.from_numpy(comp == i).to(self.device)
                    score = float(prob[v, int(c)][region].mean())
                    feat = feats[v][:, region].mean(dim=1).cpu().numpy()
                    rows.append((v, k, score, feat, hi_comp == i))
        if not rows:
            return Predictions.empty(names, (h, w), self.feature_dim, teacher=self.name,
                                     with_masks=self.mode != "box")
        return Predictions(
            view=np.array([r[0] for r in rows], np.int64),
            label=np.array([r[1] for r in rows], np.int64),
            score=np.clip(np.array([r[2] for r in rows], np.float32), 0.0, 1.0),
            boxes=np.stack([mask_box(r[4]) for r in rows]).astype(np.float32),
            features=np.stack([r[3] for r in rows]).astype(np.float32),
            part_names=names,
            image_size=(h, w),
            masks=None if self.mode == "box" else np.stack([r[4] for r in rows]),
            teacher=self.name,
            meta={"categories": list(self.vocab.categories), "resolution": self.resolution},
        )
