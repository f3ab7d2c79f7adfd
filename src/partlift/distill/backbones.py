"""Student backbones: a registry of point encoders giving per-point features (METHODS §4.3).

The released PartDistill student is a frozen, pretrained Point-M2AE encoder whose multi-scale
tokens are interpolated back to the points (681-d): backbone ``point-m2ae``, with the weights
file given by ``DistillConfig.encoder`` (official ``point_m2ae_pre-train.pth``, loaded strictly).
The others are compact encoders that train from scratch on a CPU. The registry is a plain dict
``name -> builder`` (STYLE §2): a builder takes ``(in_dim, width)`` (a pretrained one also the
encoder path) and returns a :class:`Backbone`.

Every backbone maps ``xyz`` (B, N, 3) float32 in the student frame (bounding-box centre, unit
sphere, METHODS §1.1) and per-point inputs ``feats`` (B, N, F_in) (xyz, optionally rgb and
normals, see :func:`partlift.distill.student.point_inputs`) to per-point features
(B, N, ``out_dim``). kNN and farthest-point sampling are plain torch (no torch-cluster).

Backbones (sizes at ``width = 1``; the default, ``pointnet``, was chosen by measurement — TTA
mIoU and CPU time on generated shapes, docs/partdistill.md "Backbones"):

* ``pointnet`` — shared MLP 64-128-256 with the global max-pooled feature concatenated to each
  point (PointNet segmentation, no local grouping). Fastest, blind to local shape.
* ``dgcnn`` — three EdgeConv layers (64, 64, 128) over a static 16-NN graph on xyz
  (DGCNN without re-computing the graph in feature space, to save kNN passes on the CPU), a
  256-d point feature and a 256-d global max feature.
* ``point-m2ae`` — METHODS §4.3: the frozen Point-M2AE encoder (3 stages, 512/256/64 centres,
  masked local attention) and 3-NN propagation to 681-d point features; no trainable part (the
  Student's head trains). See :class:`PointM2AEBackbone`.
* ``pointnet2`` — PointNet++ single-scale grouping with kNN groups: SA(N/4 FPS centres, 32-NN,
  64-64-128), SA(N/16, 32-NN, 128-128-256), global SA (256-512), then three feature-propagation
  levels (3-NN inverse squared distance interpolation, as Point-M2AE's propagation) to 128-d
  per-point features.

Normalisation layers of the from-scratch backbones: LayerNorm over channels (identical in train
and eval mode, so the train/eval switch that the released code gets wrong, METHODS §4.12.2,
cannot matter); ``point-m2ae`` keeps its frozen encoder (with BatchNorm) in eval mode always.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from partlift.distill.point_m2ae import POINT_FEATURE_DIM, PointM2AEEncoder, build_point_m2ae
from partlift.distill.point_m2ae_io import load_point_m2ae
from partlift.distill.point_m2ae_ops import gather  # one gather for every backbone
from partlift.errors import InputError, UnavailableError

logger = logging.getLogger(__name__)

__all__ = [
    "Backbone",
    "BACKBONES",
    "list_backbones",
    "build_backbone",
    "PRETRAINED_BACKBONES",
    "PointM2AEBackbone",
    "build_point_m2ae_backbone",
    "knn",
    "farthest_point_sample",
    "gather",
    "interpolate",
]


# ---------------------------------------------------------------------------------- geometry ops


def knn(query: torch.Tensor, ref: torch.Tensor, k: int) -> torch.Tensor:
    """(B, M, k) int64 indices into ``ref`` of the k nearest neighbours of each query point.

    ``query`` (B, M, 3), ``ref`` (B, N, 3); a query point that is also in ``ref`` is its own
    first neighbour. Exact (dense distances, chunked over queries to bound memory).
    """
    k = min(k, ref.shape[1])
    out = []
    step = max(1, (1 << 24) // max(1, ref.shape[0] * ref.shape[1]))
    for s in range(0, query.shape[1], step):
        d = torch.cdist(query[:, s : s + step], ref)
        out.append(d.topk(k, dim=-1, largest=False).indices)
    return torch.cat(out, dim=1)


def farthest_point_sample(xyz: torch.Tensor, m: int) -> torch.Tensor:
    """(B, m) int64 indices of ``m`` farthest-point samples of ``xyz`` (B, N, 3), starting at index 0.

    Deterministic given the point order (the training loop permutes points per step, so the
    start point varies there).
    """
    b, n, _ = xyz.shape
    m = min(m, n)
    idx = torch.zeros(b, m, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, n), float("inf"), device=xyz.device, dtype=xyz.dtype)
    last = torch.zeros(b, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for i in range(1, m):
        d = ((xyz - xyz[rows, last][:, None, :]) ** 2).sum(-1)
        dist = torch.minimum(dist, d)
        last = dist.argmax(dim=1)
        idx[:, i] = last
    return idx


def interpolate(xyz: torch.Tensor, centres: torch.Tensor, feats: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Features of ``centres`` (B, M, 3) / ``feats`` (B, M, C) carried to ``xyz`` (B, N, 3).

    PointNet++ feature propagation: the k nearest centres weighted by 1 / (d² + 1e-8), normalised
    (METHODS §4.3). Returns (B, N, C).
    """
    k = min(k, centres.shape[1])
    idx = knn(xyz, centres, k)
    d2 = ((xyz[:, :, None, :] - gather(centres, idx)) ** 2).sum(-1)
    w = 1.0 / (d2 + 1e-8)
    w = w / w.sum(-1, keepdim=True)
    return (gather(feats, idx) * w[..., None]).sum(2)


# ---------------------------------------------------------------------------------- building blocks


def _c(width: float, channels: int) -> int:
    return max(8, int(round(channels * width)))


def mlp(dims: list[int], *, last_act: bool = True) -> nn.Sequential:
    """Channels-last MLP: Linear -> LayerNorm -> ReLU per layer (the last without norm/act
    when ``last_act`` is False)."""
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if last_act or i < len(dims) - 2:
            layers += [nn.LayerNorm(dims[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers)


class Backbone(nn.Module):
    """Base class: ``forward(xyz (B, N, 3), feats (B, N, in_dim)) -> (B, N, out_dim)``.

    Attributes:
        name: registry name. in_dim: per-point input channels. out_dim: feature channels.
        frozen: True when nothing in the backbone trains and its output depends only on its
            input (a frozen encoder in eval mode): its features can then be computed once and
            reused (``DistillConfig.feature_cache``).
    """

    name: str = ""
    frozen: bool = False

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.in_dim = int(in_dim)
        self.out_dim = int(out_dim)


class PointNetBackbone(Backbone):
    name = "pointnet"

    def __init__(self, in_dim: int, width: float = 1.0) -> None:
        c1, c2, c3 = _c(width, 64), _c(width, 128), _c(width, 256)
        super().__init__(in_dim, c2 + c3)
        self.local = mlp([in_dim, c1, c2])
        self.glob = mlp([c2, c3])

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:  # noqa: ARG002
        h = self.local(feats)
        g = self.glob(h).max(dim=1, keepdim=True).values
        return torch.cat([h, g.expand(-1, h.shape[1], -1)], dim=-1)


class EdgeConv(nn.Module):
    """``max_j MLP([x_i, x_j - x_i])`` over the neighbours j of i."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.mlp = mlp([2 * c_in, c_out])

    def forward(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        nb = gather(x, idx)  # (B, N, k, C)
        centre = x[:, :, None, :].expand_as(nb)
        return self.mlp(torch.cat([centre, nb - centre], dim=-1)).max(dim=2).values


class DGCNNBackbone(Backbone):
    name = "dgcnn"
    k = 16

    def __init__(self, in_dim: int, width: float = 1.0) -> None:
        c1, c2, c3, c4 = _c(width, 64), _c(width, 64), _c(width, 128), _c(width, 256)
        super().__init__(in_dim, 2 * c4)
        self.e1 = EdgeConv(in_dim, c1)
        self.e2 = EdgeConv(c1, c2)
        self.e3 = EdgeConv(c2, c3)
        self.fuse = mlp([c1 + c2 + c3, c4])
        self.glob = mlp([c4, c4])

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        idx = knn(xyz, xyz, self.k)
        h1 = self.e1(feats, idx)
        h2 = self.e2(h1, idx)
        h3 = self.e3(h2, idx)
        h = self.fuse(torch.cat([h1, h2, h3], dim=-1))
        g = self.glob(h).max(dim=1, keepdim=True).values
        return torch.cat([h, g.expand(-1, h.shape[1], -1)], dim=-1)


class SetAbstraction(nn.Module):
    """FPS centres, kNN groups, ``max MLP([xyz_j - xyz_centre, f_j])`` per group."""

    def __init__(self, ratio: int, k: int, c_in: int, dims: list[int]) -> None:
        super().__init__()
        self.ratio, self.k = ratio, k
        self.mlp = mlp([c_in + 3, *dims])

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = max(1, xyz.shape[1] // self.ratio)
        centres = gather(xyz, farthest_point_sample(xyz, m))
        idx = knn(centres, xyz, self.k)
        rel = gather(xyz, idx) - centres[:, :, None, :]
        h = self.mlp(torch.cat([rel, gather(feats, idx)], dim=-1)).max(dim=2).values
        return centres, h


class PointNet2Backbone(Backbone):
    name = "pointnet2"

    def __init__(self, in_dim: int, width: float = 1.0) -> None:
        a, b, c, d = _c(width, 64), _c(width, 128), _c(width, 256), _c(width, 512)
        super().__init__(in_dim, b)
        self.sa1 = SetAbstraction(4, 32, in_dim, [a, a, b])
        self.sa2 = SetAbstraction(4, 32, b, [b, b, c])
        self.sa3 = mlp([c + 3, c, d])
        self.fp3 = mlp([c + d, c, c])
        self.fp2 = mlp([b + c, c, b])
        self.fp1 = mlp([in_dim + b, b, b])

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        x1, f1 = self.sa1(xyz, feats)
        x2, f2 = self.sa2(x1, f1)
        g = self.sa3(torch.cat([x2, f2], dim=-1)).max(dim=1, keepdim=True).values
        f2 = self.fp3(torch.cat([f2, g.expand(-1, f2.shape[1], -1)], dim=-1))
        f1 = self.fp2(torch.cat([f1, interpolate(x1, x2, f2)], dim=-1))
        return self.fp1(torch.cat([feats, interpolate(xyz, x1, f1)], dim=-1))


class PointM2AEBackbone(Backbone):
    """The released student's encoder (METHODS §4.3): a **frozen** Point-M2AE encoder giving
    681-d per-point features (:mod:`partlift.distill.point_m2ae`), plus the per-point inputs
    beyond xyz (rgb, normals) appended unchanged (ours: §4.3 feeds xyz only, which is the
    default ``in_dim = 3``; out_dim = 681 + in_dim - 3).

    The encoder never trains (``requires_grad=False``, run under ``no_grad``) and stays in eval
    mode whatever ``train()`` is called with: BatchNorm uses its running statistics and
    drop-path is off in every step (METHODS §4.12.2 — the release runs its first epoch in train
    mode). ``width`` does not apply: the architecture is fixed by the checkpoint. Only the head
    of the :class:`~partlift.distill.student.Student` trains. ``finetune=True`` (ours,
    ``DistillConfig.encoder_lr_ratio > 0``) lets the encoder's weights train too, still in eval
    mode (running statistics, no drop-path); ``frozen`` is then False.

    Build it with :func:`build_point_m2ae_backbone` (weights from a file, or random).
    """

    name = "point-m2ae"

    def __init__(self, in_dim: int, encoder: PointM2AEEncoder, *, finetune: bool = False) -> None:
        super().__init__(in_dim, POINT_FEATURE_DIM + int(in_dim) - 3)
        if self.in_dim < 3:
            raise InputError(f"point-m2ae backbone: expected in_dim >= 3 (xyz first), got {in_dim}")
        self.frozen = not finetune
        self.encoder = encoder.requires_grad_(bool(finetune)).eval()

    def train(self, mode: bool = True) -> PointM2AEBackbone:
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            f = self.encoder.point_features(xyz)
        if self.in_dim > 3:
            f = torch.cat([f, feats[..., 3:]], dim=-1)
        return f


PACKAGED_ENCODER = "packaged"
"""``DistillConfig.encoder`` value naming the encoder shipped with partlift
(``partlift/distill/weights/point_m2ae_partlift.safetensors``, made by ``partlift pretrain``;
docs/partdistill.md "Our pretrained encoder")."""

PACKAGED_ENCODER_FILE = "point_m2ae_partlift.safetensors"


def packaged_encoder() -> Path:
    """Path of the shipped Point-M2AE encoder; UnavailableError (with how to make one) when absent."""
    from importlib import resources

    ref = resources.files("partlift.distill").joinpath("weights", PACKAGED_ENCODER_FILE)
    if not ref.is_file():
        raise UnavailableError(
            "point-m2ae: no packaged encoder in this install; train one with `partlift pretrain --corpus "
            "synthetic:all:20 --out encoder.safetensors` and pass --set partdistill.encoder=encoder.safetensors"
        )
    return Path(str(ref))


def build_point_m2ae_backbone(in_dim: int, width: float = 1.0, encoder: str | None = None,  # noqa: ARG001
                              *, finetune: bool = False) -> PointM2AEBackbone:
    """The ``point-m2ae`` backbone; ``encoder`` is the weights file (official
    ``point_m2ae_pre-train.pth`` or a ``partlift pretrain`` output), loaded strictly by
    :func:`partlift.distill.point_m2ae_io.load_point_m2ae`, or ``"packaged"``
    (:data:`PACKAGED_ENCODER`): partlift's own shipped encoder.

    ``encoder=None`` builds a **random** frozen encoder (official init, drawn from the global
    torch RNG, which :func:`~partlift.distill.student.build_student` seeds) and logs a warning:
    it is the "random features" ablation, not the paper's student. ``finetune=True``: the
    encoder's weights train (see :class:`PointM2AEBackbone`).
    """
    if encoder == PACKAGED_ENCODER:
        encoder = str(packaged_encoder())
    if encoder is None:
        logger.warning(
            "point-m2ae backbone without encoder weights: the frozen encoder is RANDOM (an ablation, "
            "not the paper's student); pass --set partdistill.encoder=/path/point_m2ae_pre-train.pth"
        )
        net = build_point_m2ae()
    else:
        net = load_point_m2ae(encoder)
    return PointM2AEBackbone(in_dim, net, finetune=finetune)


BACKBONES: dict[str, Callable[..., Backbone]] = {
    "pointnet": PointNetBackbone,
    "dgcnn": DGCNNBackbone,
    "pointnet2": PointNet2Backbone,
    "point-m2ae": build_point_m2ae_backbone,
}
"""Backbone name -> builder ``(in_dim, width) -> Backbone``; a pretrained one also takes
``encoder`` (a weights path, see :data:`PRETRAINED_BACKBONES`)."""

PRETRAINED_BACKBONES: frozenset[str] = frozenset({"point-m2ae"})
"""Backbones whose builder takes an ``encoder`` weights file (DistillConfig.encoder)."""


def list_backbones() -> list[str]:
    """Registered backbone names, sorted."""
    return sorted(BACKBONES)


def build_backbone(name: str, in_dim: int, width: float = 1.0, *, encoder: str | None = None,
                   finetune: bool = False) -> Backbone:
    """Build backbone ``name`` for ``in_dim`` input channels; raises with the valid names.

    Args:
        encoder: weights file of a pretrained backbone (:data:`PRETRAINED_BACKBONES`); must be
            None for the others.
        finetune: let a pretrained backbone's encoder train (the others always train).
    """
    if name not in BACKBONES:
        raise InputError(f"unknown student backbone {name!r}; choose one of {list_backbones()}")
    if finetune and name not in PRETRAINED_BACKBONES:
        raise InputError(
            f"student backbone {name!r} always trains; fine-tuning an encoder (encoder_lr_ratio > 0) needs one of "
            f"{sorted(PRETRAINED_BACKBONES)}; drop encoder_lr_ratio"
        )
    if name in PRETRAINED_BACKBONES:
        net = BACKBONES[name](int(in_dim), float(width), encoder, finetune=finetune)
    elif encoder is not None:
        raise InputError(
            f"student backbone {name!r} takes no encoder weights (got encoder={encoder!r}); use backbone "
            f"{sorted(PRETRAINED_BACKBONES)} or drop the encoder setting"
        )
    else:
        net = BACKBONES[name](int(in_dim), float(width))
    net.name = name
    return net
