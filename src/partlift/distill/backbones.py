"""Student backbones: a registry of point encoders giving per-point features (METHODS §4.3).

The released PartDistill student is a frozen, pretrained Point-M2AE encoder whose multi-scale
tokens are interpolated back to the points (681-d). Its weights cannot be had here, so the
student trains from scratch; these are compact encoders that do so on a CPU. The registry is a
plain dict ``name -> builder`` (STYLE §2), so a pretrained backbone can be added later with one
line: the builder takes ``(in_dim, width)`` and returns a :class:`Backbone`.

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
* ``pointnet2`` — PointNet++ single-scale grouping with kNN groups: SA(N/4 FPS centres, 32-NN,
  64-64-128), SA(N/16, 32-NN, 128-128-256), global SA (256-512), then three feature-propagation
  levels (3-NN inverse squared distance interpolation, as Point-M2AE's propagation) to 128-d
  per-point features.

Normalisation layers: LayerNorm over channels (identical in train and eval mode, so the
train/eval switch that the released code gets wrong, METHODS §4.12.2, cannot matter).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from partlift.errors import InputError

__all__ = [
    "Backbone",
    "BACKBONES",
    "list_backbones",
    "build_backbone",
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


def gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x`` (B, N, C) gathered at ``idx`` (B, ...) -> (B, ..., C)."""
    b = x.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.gather(x, 1, flat[..., None].expand(-1, -1, x.shape[-1]))
    return out.reshape(*idx.shape, x.shape[-1])


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
    """

    name: str = ""

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


BACKBONES: dict[str, Callable[[int, float], Backbone]] = {
    "pointnet": PointNetBackbone,
    "dgcnn": DGCNNBackbone,
    "pointnet2": PointNet2Backbone,
}
"""Backbone name -> builder ``(in_dim, width) -> Backbone``. Add a pretrained encoder here."""


def list_backbones() -> list[str]:
    """Registered backbone names, sorted."""
    return sorted(BACKBONES)


def build_backbone(name: str, in_dim: int, width: float = 1.0) -> Backbone:
    """Build backbone ``name`` for ``in_dim`` input channels; raises with the valid names."""
    if name not in BACKBONES:
        raise InputError(f"unknown student backbone {name!r}; choose one of {list_backbones()}")
    net = BACKBONES[name](int(in_dim), float(width))
    net.name = name
    return net
