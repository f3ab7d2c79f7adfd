"""The PartDistill student: a point backbone plus a per-point part head (METHODS §4.3).

Frames: the student sees points in the **student frame**, the unit sphere around the
axis-aligned bounding-box centre (METHODS §1.1, PartDistill's ``norm_unit_sphere``). It is
computed from the whole shape's points (the released code computes it from the 2048-point
subsample; both are the same similarity up to the sub-sample's bbox, so indices never change).
The teacher side works on the pipeline's centroid frame; both come from the same points, so a
point index means the same point on either side.

Inference on a whole shape: the student runs on a seeded sub-sample of ``n_points`` and its
logits go to every input point by nearest neighbour (in the student frame); with
``config.pool="superpoints"`` each superpoint then takes the mean logits of its points
(:func:`pool_logits`, ours, issue 16).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn

from partlift.distill.backbones import build_backbone
from partlift.distill.config import POOL_MODES, DistillConfig
from partlift.errors import InputError
from partlift.geometry import normalize_transform

__all__ = [
    "Student",
    "build_student",
    "student_frame",
    "point_inputs",
    "subsample",
    "pool_logits",
    "predict_shape",
]


class Student(nn.Module):
    """Backbone + head: ``forward(xyz (B, N, 3), feats (B, N, in_dim)) -> logits (B, N, K)``.

    K = C part outputs, plus a last "none" output when ``config.null_class``.

    The head is METHODS §4.3's 4-layer point-wise MLP (ReLU after the first three layers, no
    norm), at width ``head_hidden``. All of it trains, except the frozen pretrained encoder of the
    ``point-m2ae`` backbone (see :mod:`partlift.distill.backbones`; it trains at
    ``lr * encoder_lr_ratio`` when that ratio is > 0).

    Attributes:
        backbone_name: registry name of the backbone. n_parts: C. n_outputs: K.
        config: the DistillConfig.
    """

    def __init__(self, n_parts: int, config: DistillConfig) -> None:
        super().__init__()
        if isinstance(n_parts, bool) or not isinstance(n_parts, int) or n_parts < 1:
            raise InputError(f"Student: expected n_parts >= 1, got {n_parts!r}")
        self.config = config
        self.n_parts = n_parts
        self.n_outputs = n_parts + int(config.null_class)
        self.backbone_name = config.backbone
        self.backbone = build_backbone(config.backbone, config.in_dim, config.width, encoder=config.encoder,
                                       finetune=config.encoder_lr_ratio > 0)
        h = config.head_hidden
        self.head = nn.Sequential(
            nn.Linear(self.backbone.out_dim, h), nn.ReLU(),
            nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, self.n_outputs),
        )

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(xyz, feats))


def build_student(n_parts: int, config: DistillConfig, *, device: str | torch.device = "cpu",
                  seed: int | None = None) -> Student:
    """A freshly initialised student on ``device``; weights drawn from ``seed`` (default config.seed)."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(config.seed if seed is None else seed)
    try:
        net = Student(n_parts, config)
    finally:
        torch.random.set_rng_state(gen_state)
    return net.to(device)


def student_frame(xyz: np.ndarray) -> np.ndarray:
    """(N, 3) float32: ``xyz`` in the student frame (bbox centre, unit sphere, METHODS §1.1)."""
    return normalize_transform(xyz, mode="bbox").apply(xyz)


def point_inputs(
    xyz: np.ndarray, rgb: np.ndarray | None, normals: np.ndarray | None, config: DistillConfig,
    *, shape_name: str = "shape",
) -> np.ndarray:
    """(N, in_dim) float32 per-point student inputs: [xyz (student frame), rgb?, normals?].

    Raises:
        InputError: the config asks for colours or normals the shape does not have.
    """
    cols = [np.asarray(xyz, np.float32)]
    for flag, arr, what in ((config.use_rgb, rgb, "colours"), (config.use_normals, normals, "normals")):
        if flag:
            if arr is None:
                raise InputError(
                    f"{shape_name}: the student uses {what} (use_{'rgb' if what == 'colours' else 'normals'}"
                    f"=True) but the shape has none; load a shape with {what} or use a student "
                    "trained without them"
                )
            cols.append(np.asarray(arr, np.float32))
    return np.concatenate(cols, axis=1)


def subsample(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """(m,) int64 point indices: random without replacement when n >= m, else all points tiled
    plus a random fill (METHODS §4.3 "tile+random")."""
    if n >= m:
        return np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)
    reps = np.tile(np.arange(n), m // n)
    return np.concatenate([reps, rng.choice(n, size=m - reps.size, replace=False)]).astype(np.int64)


def pool_logits(logits: np.ndarray, superpoints: np.ndarray) -> np.ndarray:
    """(N, K) float32: every point's logits replaced by the mean logits of its superpoint.

    Args:
        logits: (N, K) float per-point student logits (the "none" output included, so a
            superpoint whose points mostly say "none" stays unlabelled).
        superpoints: (N,) int superpoint id per point (any non-negative ids).

    Raises:
        InputError: shapes that do not match, or negative ids.
    """
    logits = np.asarray(logits)
    sp = np.asarray(superpoints)
    if logits.ndim != 2 or sp.shape != (logits.shape[0],):
        raise InputError(
            f"pool_logits: expected logits (N, K) and superpoints (N,), got {logits.shape} and {sp.shape}; "
            "pass the superpoints of the same points"
        )
    if sp.size == 0:
        return logits.astype(np.float32)
    if not np.issubdtype(sp.dtype, np.integer) or sp.min() < 0:
        raise InputError("pool_logits: expected non-negative integer superpoint ids")
    _, inv = np.unique(sp, return_inverse=True)
    m = int(inv.max()) + 1
    sums = np.zeros((m, logits.shape[1]), np.float64)
    np.add.at(sums, inv, logits.astype(np.float64))
    counts = np.bincount(inv, minlength=m).astype(np.float64)
    return (sums / counts[:, None])[inv].astype(np.float32)


@torch.no_grad()
def predict_shape(
    student: Student,
    xyz: np.ndarray,
    rgb: np.ndarray | None = None,
    normals: np.ndarray | None = None,
    *,
    device: str | torch.device = "cpu",
    seed: int = 0,
    shape_name: str = "shape",
    superpoints: np.ndarray | None = None,
    pool: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Label every point of a shape with a trained student.

    Args:
        xyz: (N, 3) float points in any frame (re-normalised to the student frame here).
        rgb, normals: (N, 3) float32 or None, as the student's config needs.
        seed: seeds the ``n_points`` sub-sample the student runs on.
        superpoints: (N,) int superpoint id per point; needed when the pooling is
            ``"superpoints"``, ignored otherwise.
        pool: ``"none"`` or ``"superpoints"`` (:data:`~partlift.distill.config.POOL_MODES`);
            None = the student's ``config.pool``.

    Returns:
        ``(labels (N,) int64, probs (N, C) float32)``: the sub-sample's logits carried to every
        point by its nearest sub-sampled neighbour (student frame), averaged per superpoint when
        pooling, then softmax; a point whose argmax is the "none" output is labelled -1 (its part
        probabilities still sum to less than 1).

    Raises:
        InputError: superpoint pooling without superpoints for every point, an unknown ``pool``.
    """
    cfg = student.config
    pool = cfg.pool if pool is None else pool
    if pool not in POOL_MODES:
        raise InputError(f"predict_shape: expected pool in {list(POOL_MODES)}, got {pool!r}")
    if pool == "superpoints":
        if superpoints is None or np.shape(superpoints) != (len(xyz),):
            raise InputError(
                f"{shape_name}: the student pools its logits over superpoints (pool='superpoints') but got "
                f"superpoints of shape {None if superpoints is None else np.shape(superpoints)} for {len(xyz)} "
                "points; prepare the shape with superpoints (the Segmenter does) or set pool='none'"
            )
    xyz_s = student_frame(np.asarray(xyz, np.float32))
    inputs = point_inputs(xyz_s, rgb, normals, cfg, shape_name=shape_name)
    idx = subsample(len(xyz_s), cfg.n_points, np.random.default_rng(seed))
    student.eval()
    x = torch.from_numpy(xyz_s[idx]).to(device)[None]
    f = torch.from_numpy(inputs[idx]).to(device)[None]
    logits_sub = student(x, f)[0]
    _, nn_idx = cKDTree(xyz_s[idx]).query(xyz_s, k=1)
    if pool == "superpoints":
        pooled = pool_logits(logits_sub.cpu().numpy()[nn_idx], np.asarray(superpoints))
        probs = torch.softmax(torch.from_numpy(pooled), dim=-1).numpy().astype(np.float32)
    else:
        probs = torch.softmax(logits_sub, dim=-1).cpu().numpy().astype(np.float32)[nn_idx]
    labels = probs.argmax(axis=1).astype(np.int64)
    labels[labels >= student.n_parts] = -1
    return labels, np.ascontiguousarray(probs[:, : student.n_parts])
