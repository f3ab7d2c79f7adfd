"""Tiny hand-made PartSTAD scenes for tests: no renderer, no superpoint code, no teacher.

A scene has ``n_sp`` superpoints of ``per_sp`` points; superpoint k has GT part ``k % 3`` (the
last one is unlabelled, -1). In every view each superpoint's points form a small cluster at a
random place of a 32x32 image; predictions are boxes (and box-shaped masks) around the clusters
with the right part (most of them), some with a wrong part, and one whole-object box in view 0.
"""

from __future__ import annotations

import numpy as np

from partlift.pipeline import PreparedShape
from partlift.types import Camera, Predictions, Shape, Views

PARTS = ("arm", "handle", "seat")
H = W = 32


def scene(seed: int = 0, *, n_sp: int = 8, per_sp: int = 6, n_views: int = 3, feature_dim: int = 6,
          n_preds: int | None = None):
    """(views, superpoints (N,), predictions, gt (N,)) of a random tiny scene."""
    rng = np.random.default_rng(seed)
    n = n_sp * per_sp
    sp = np.repeat(np.arange(n_sp), per_sp)
    gt = sp % 3
    gt[sp == n_sp - 1] = -1
    xy = np.zeros((n_views, n, 2), np.float32)
    vis = rng.random((n_views, n)) < 0.85
    centres = rng.uniform(5, 27, (n_views, n_sp, 2))
    for v in range(n_views):
        xy[v] = centres[v, sp] + rng.uniform(-1.5, 1.5, (n, 2))
    cams = tuple(Camera(10.0 + 30 * v, 90.0 * v, 2.2, 60.0) for v in range(n_views))
    views = Views(
        rgb=np.zeros((n_views, H, W, 3), np.uint8),
        pix2point=np.full((n_views, H, W), -1, np.int64),
        screen_xy=xy,
        visible=vis,
        depth=np.ones((n_views, n), np.float32),
        cameras=cams,
    )
    view, label, boxes = [], [], []
    for v in range(n_views):
        for k in range(n_sp - 1):
            if rng.random() < 0.8:
                c = int(k % 3) if rng.random() < 0.8 else int((k + 1) % 3)
                pts = xy[v, sp == k]
                lo, hi = pts.min(0) - 0.6, pts.max(0) + 0.6
                view.append(v)
                label.append(c)
                boxes.append([lo[0], lo[1], hi[0], hi[1]])
    view.append(0)
    label.append(1)
    boxes.append([-1.0, -1.0, W + 1.0, H + 1.0])  # a whole-object box (dropped by the 0.98 filter)
    if n_preds is not None:
        view, label, boxes = view[:n_preds], label[:n_preds], boxes[:n_preds]
    boxes = np.clip(np.asarray(boxes, np.float32), -1, W + 1)
    d = len(view)
    masks = np.zeros((d, H, W), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        masks[i, max(0, int(np.ceil(y1))) : int(np.floor(y2)), max(0, int(np.ceil(x1))) : int(np.floor(x2))] = True
    preds = Predictions(
        view=np.asarray(view, np.int64),
        label=np.asarray(label, np.int64),
        score=np.ones(d, np.float32),
        boxes=boxes,
        features=rng.standard_normal((d, feature_dim)).astype(np.float32),
        part_names=PARTS,
        image_size=(H, W),
        masks=masks,
        teacher="toy",
    )
    return views, sp, preds, gt


def prepared(seed: int = 0, **kwargs) -> tuple[PreparedShape, Predictions]:
    """A :class:`PreparedShape` of :func:`scene` (random xyz per superpoint) and its predictions."""
    views, sp, preds, gt = scene(seed, **kwargs)
    rng = np.random.default_rng(seed + 100)
    centres = rng.uniform(-0.5, 0.5, (int(sp.max()) + 1, 3))
    xyz = (centres[sp] + rng.normal(0, 0.01, (sp.size, 3))).astype(np.float32)
    shape = Shape(xyz=xyz, semantic=gt.astype(np.int64), instance=sp.astype(np.int64),
                  part_names=PARTS, name=f"toy/{seed}")
    return PreparedShape(f"key{seed}", shape, shape, views, sp), preds


class StubTeacher:
    """A teacher that returns fixed predictions (by shape name)."""

    def __init__(self, table: dict[str, Predictions], name: str = "toy") -> None:
        self.table = table
        self.name = name

    def predict(self, views, part_names, shape):
        return self.table[shape.name]


class StubSegmenter:
    """What PartSTAD uses of a Segmenter: prepare / predictions(_for) / vote_config / device / teacher."""

    def __init__(self, items: dict[str, tuple[PreparedShape, Predictions]], teacher: str = "toy",
                 method_options: dict | None = None) -> None:
        from partlift.lifting.voting import VoteConfig

        self.items = items
        self.teacher = StubTeacher({k: p for k, (_, p) in items.items()}, teacher)
        self.vote_config = VoteConfig()
        self.device = "cpu"
        self.method_options = dict(method_options or {})

    def prepare(self, shape):
        return self.items[shape.name][0]

    def predictions(self, shape, parts=None):
        return self.items[shape.name][1]

    def predictions_for(self, prepared, names):
        return self.items[prepared.shape.name][1]
