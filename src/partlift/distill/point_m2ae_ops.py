"""Geometry of the Point-M2AE encoder in plain torch (METHODS §4.3): FPS, kNN groups, the
local-attention mask and the 3-NN inverse-squared-distance propagation.

No compiled extension: the released code uses ``pointnet2_ops.furthest_point_sample`` and
``knn_cuda.KNN``; these functions reproduce their rules on any device (CPU or CUDA; the device
is the input tensors' device). Ties are broken towards the lowest index everywhere (stable
sorts, first argmax), so a result depends only on the point coordinates and their order.
"""

from __future__ import annotations

import torch

__all__ = [
    "FPS_MIN_SQNORM",
    "PROPAGATION_EPS",
    "ATTENTION_MASK_VALUE",
    "farthest_point_sample",
    "gather",
    "knn",
    "group",
    "local_attention_mask",
    "three_nn_interpolate",
]

FPS_MIN_SQNORM = 1e-3
"""Points with |p|² <= this are never picked by FPS after the first pick (the CUDA kernel's
``if (mag <= 1e-3) continue;`` in pointnet2_ops ``furthest_point_sampling_kernel``; kept so the
centres match the ones the official weights were trained with)."""

PROPAGATION_EPS = 1e-8
"""Propagation weights ∝ 1 / (d² + eps) (METHODS §4.3, PointNet++ feature propagation)."""

ATTENTION_MASK_VALUE = -100000.0
"""Added to the attention logits of centre pairs at or beyond the stage radius (official
``Attention.forward``: ``mask * -100000.0``)."""


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, M, K) squared Euclidean distances between ``a`` (B, M, 3) and ``b`` (B, K, 3)."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist") ** 2


def farthest_point_sample(xyz: torch.Tensor, m: int) -> torch.Tensor:
    """(B, m) int64 indices of ``m`` farthest-point samples of ``xyz`` (B, N, 3), as pointnet2_ops.

    Rules (the CUDA kernel's): the first sample is **always index 0**; each next sample is the
    point farthest (squared distance) from the samples so far, ties to the lowest index; points
    with |p|² <= :data:`FPS_MIN_SQNORM` are never picked after the first (in the student frame,
    a ball of radius 0.032 round the bounding-box centre). Deterministic given the point order;
    a reordering that keeps point 0 first gives the same samples.
    """
    b, n, _ = xyz.shape
    m = min(int(m), n)
    idx = torch.zeros(b, m, dtype=torch.long, device=xyz.device)
    eligible = (xyz * xyz).sum(-1) > FPS_MIN_SQNORM
    dist = torch.full((b, n), 1e10, dtype=xyz.dtype, device=xyz.device)
    dist = torch.where(eligible, dist, torch.full_like(dist, -1.0))
    last = torch.zeros(b, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for i in range(1, m):
        d = ((xyz - xyz[rows, last][:, None, :]) ** 2).sum(-1)
        dist = torch.where(eligible, torch.minimum(dist, d), dist)
        last = dist.argmax(dim=1)
        idx[:, i] = last
    return idx


def gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x`` (B, N, C) gathered at ``idx`` (B, ...) int64 -> (B, ..., C)."""
    b = x.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.gather(x, 1, flat[..., None].expand(-1, -1, x.shape[-1]))
    return out.reshape(*idx.shape, x.shape[-1])


def knn(query: torch.Tensor, ref: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest ``ref`` (B, N, 3) points of each ``query`` (B, M, 3) point.

    Returns ``(sqdist (B, M, k) float, idx (B, M, k) int64)``, nearest first, ties to the lowest
    index (a stable sort; ``knn_cuda`` leaves ties unspecified).
    """
    k = min(int(k), ref.shape[1])
    d = _sqdist(query, ref)
    vals, idx = d.topk(k, dim=-1, largest=False, sorted=False)
    kth = vals.max(dim=-1, keepdim=True).values
    if bool(((d <= kth).sum(-1) > k).any()):
        # a tie at the k-th distance: topk's choice is unspecified, a stable sort is not
        d_sorted, order = torch.sort(d, dim=-1, stable=True)
        return d_sorted[..., :k], order[..., :k]
    # the k-set is unambiguous: order it by (distance, index)
    idx, by_index = idx.sort(dim=-1)
    vals = vals.gather(-1, by_index)
    vals, by_dist = vals.sort(dim=-1, stable=True)
    return vals, idx.gather(-1, by_dist)


def group(xyz: torch.Tensor, n_centers: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One Point-M2AE tokenizer (official ``Group``): FPS centres, then their kNN groups.

    Args:
        xyz: (B, N, 3) float points (stage 1: the input; later stages: the previous centres).
        n_centers: G (clipped to N). k: group size (clipped to N).

    Returns:
        ``(neighborhood (B, G, k, 3) xyz relative to its centre, centers (B, G, 3),
        idx (B, G, k) int64 indices into ``xyz``)``.
    """
    centers = gather(xyz, farthest_point_sample(xyz, n_centers))
    _, idx = knn(centers, xyz, k)
    neighborhood = gather(xyz, idx) - centers[:, :, None, :]
    return neighborhood, centers, idx


def local_attention_mask(centers: torch.Tensor, radius: float) -> torch.Tensor:
    """(B, G, G) float additive attention mask: :data:`ATTENTION_MASK_VALUE` where the centres are
    at distance >= ``radius`` (official ``local_att_mask``: ``dist >= radius`` is masked), else 0.

    A centre always attends to itself (distance 0 < radius).
    """
    far = torch.cdist(centers, centers, compute_mode="donot_use_mm_for_euclid_dist") >= radius
    return far.to(centers.dtype) * ATTENTION_MASK_VALUE


def three_nn_interpolate(xyz: torch.Tensor, centers: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """Features of ``centers`` (B, G, 3) / ``feats`` (B, G, C) carried to ``xyz`` (B, N, 3).

    PointNet++ propagation without the learned MLP (PartDistill ``is_learned=False``): the 3
    nearest centres weighted by 1 / (d² + :data:`PROPAGATION_EPS`), normalised; a single centre
    is copied (official ``S == 1`` branch). Returns (B, N, C).
    """
    if centers.shape[1] == 1:
        return feats.expand(-1, xyz.shape[1], -1)
    d2, idx = knn(xyz, centers, 3)
    w = 1.0 / (d2 + PROPAGATION_EPS)
    w = w / w.sum(-1, keepdim=True)
    return (gather(feats, idx) * w[..., None]).sum(2)
