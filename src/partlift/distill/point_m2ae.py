"""The Point-M2AE hierarchical encoder (Zhang et al., NeurIPS 2022) as PartDistill's student uses
it (METHODS §4.3): plain PyTorch, CPU or CUDA.

Architecture (official ``H_Encoder_seg`` / PartDistill ``Point_M2AE_SEG(is_learned=False)``):

====== ================================ ========== ===== ===== ===== ============
stage  centres (FPS, index 0 first)     kNN group  dim   depth heads radius
====== ================================ ========== ===== ===== ===== ============
1      512 of the N input points        16         96    5     6     0.32
2      256 of the 512 stage-1 centres   8          192   5     6     0.64
3      64 of the 256 stage-2 centres    8          384   5     6     1.28
====== ================================ ========== ===== ===== ===== ============

* Token embedding: stage 1 a mini-PointNet on the group's xyz relative to its centre
  (Conv1d 3→128→256, max-pool, concat the pooled feature, 512→512→96, max-pool); stages 2–3 the
  same over the previous stage's tokens of the group (in→in, concat, 2·in→out→out, max-pool).
  BatchNorm inside (frozen: running statistics).
* Position embedding: Linear(3, d)–GELU–Linear(d, d) on the centres, added before every block.
* Blocks: pre-LN ViT (MLP ratio 4, qkv without bias, 6 heads), drop-path 0→0.1 linearly over
  the 15 blocks; attention masked so a centre attends only to centres closer than the radius.
* Each stage ends with a LayerNorm.
* :meth:`PointM2AEEncoder.point_features`: each stage's tokens carried to the N points by 3-NN
  inverse-squared-distance interpolation, the point's xyz concatenated:
  [xyz, f₁] ⊕ [xyz, f₂] ⊕ [xyz, f₃] → 3+96 + 3+192 + 3+384 = **681** channels.

Parameter names and shapes equal the official checkpoint's encoder tensors
(``base_model["h_encoder.…"]`` of ``point_m2ae_pre-train.pth``), so ``state_dict()`` of a
:class:`PointM2AEEncoder` is exactly what :mod:`partlift.distill.point_m2ae_io` loads strictly.

Frames: ``xyz`` in the student frame (bounding-box centre, unit sphere, METHODS §1.1) — the
radii and the FPS origin rule assume it. Fewer than 512 input points: every stage's centre
count and group size are clipped to the points available (ours; the official code needs 2048).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from partlift.distill.point_m2ae_ops import group, local_attention_mask, three_nn_interpolate
from partlift.errors import InputError

__all__ = [
    "NUM_GROUPS",
    "GROUP_SIZES",
    "ENCODER_DIMS",
    "ENCODER_DEPTHS",
    "NUM_HEADS",
    "LOCAL_RADII",
    "DROP_PATH_RATE",
    "POINT_FEATURE_DIM",
    "PointM2AEEncoder",
    "EncoderOutput",
    "build_point_m2ae",
]

NUM_GROUPS: tuple[int, ...] = (512, 256, 64)
"""Centres per stage (METHODS §4.3)."""
GROUP_SIZES: tuple[int, ...] = (16, 8, 8)
"""kNN group size per stage (METHODS §4.3)."""
ENCODER_DIMS: tuple[int, ...] = (96, 192, 384)
"""Token channels per stage (METHODS §4.3)."""
ENCODER_DEPTHS: tuple[int, ...] = (5, 5, 5)
"""Transformer blocks per stage (METHODS §4.3)."""
NUM_HEADS = 6
"""Attention heads in every block (METHODS §4.3)."""
LOCAL_RADII: tuple[float, ...] = (0.32, 0.64, 1.28)
"""Local-attention radius per stage, student frame (METHODS §4.3)."""
DROP_PATH_RATE = 0.1
"""Drop-path rate of the last block; linear from 0 over the 15 blocks (METHODS §4.3)."""
MLP_RATIO = 4.0
"""Hidden width of a block's MLP as a multiple of the token width (METHODS §4.3)."""
POINT_FEATURE_DIM = sum(3 + d for d in ENCODER_DIMS)
"""681: per-point feature width of :meth:`PointM2AEEncoder.point_features`."""


class DropPath(nn.Module):
    """Stochastic depth per sample (timm ``DropPath``): in training, zero a residual branch with
    probability ``p`` and scale the kept ones by 1 / (1 - p); identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class TokenEmbed(nn.Module):
    """Mini-PointNet over a group (official ``Token_Embed``): (B, G, k, in_c) -> (B, G, out_c).

    ``in_c == 3`` (stage 1): Conv1d 3→128, BN, ReLU, →256; concat the max-pooled 256-d feature;
    Conv1d 512→512, BN, ReLU, →out; max-pool. Otherwise in→in, BN, ReLU, →in; concat; 2·in→out,
    BN, ReLU, →out; max-pool.
    """

    def __init__(self, in_c: int, out_c: int) -> None:
        super().__init__()
        self.in_c, self.out_c = int(in_c), int(out_c)
        if self.in_c == 3:
            mid, cat_c, hid = (128, 256), 512, 512
        else:
            mid, cat_c, hid = (self.in_c, self.in_c), 2 * self.in_c, self.out_c
        self.first_conv = nn.Sequential(
            nn.Conv1d(self.in_c, mid[0], 1), nn.BatchNorm1d(mid[0]), nn.ReLU(inplace=True), nn.Conv1d(mid[0], mid[1], 1),
        )
        self.second_conv = nn.Sequential(
            nn.Conv1d(cat_c, hid, 1), nn.BatchNorm1d(hid), nn.ReLU(inplace=True), nn.Conv1d(hid, self.out_c, 1),
        )

    def forward(self, groups: torch.Tensor) -> torch.Tensor:
        b, g, n, c = groups.shape
        x = _pointwise(self.first_conv, groups.reshape(b * g * n, c)).reshape(b * g, n, -1)
        pooled = x.max(dim=1, keepdim=True).values
        x = torch.cat([pooled.expand(-1, n, -1), x], dim=2).reshape(b * g * n, -1)
        x = _pointwise(self.second_conv, x).reshape(b * g, n, -1)
        return x.max(dim=1).values.reshape(b, g, self.out_c)


def _pointwise(seq: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Conv1d(k=1)–BN–ReLU–Conv1d(k=1) applied to (M, C_in) channels-last rows -> (M, C_out).

    The same arithmetic as the Sequential on (B, C, n) (a 1-wide convolution is a matrix product;
    BatchNorm1d on (M, C) pools the same samples per channel), as plain matrix products, which
    run several times faster than the 1-wide convolutions on the CPU.
    """
    conv1, bn, _, conv2 = seq
    x = F.linear(x, conv1.weight[..., 0], conv1.bias)
    x = F.relu(bn(x))
    return F.linear(x, conv2.weight[..., 0], conv2.bias)


class Attention(nn.Module):
    """Multi-head self-attention, qkv without bias, with an additive (B, G, G) mask."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        if mask is not None:
            attn = attn + mask[:, None]
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Mlp(nn.Module):
    """Linear–GELU–Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN transformer block: x + DropPath(Attn(LN x)), then x + DropPath(MLP(LN x))."""

    def __init__(self, dim: int, num_heads: int, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * MLP_RATIO))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), mask))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class EncoderBlock(nn.Module):
    """One stage's blocks (official ``Encoder_Block``); the position embedding is added before each."""

    def __init__(self, dim: int, depth: int, num_heads: int, drop_paths: list[float]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, num_heads, drop_paths[i]) for i in range(depth)])

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x + pos, mask)
        return x


class HEncoder(nn.Module):
    """Token embedders, position embeddings, blocks and norms of the three stages (official
    ``H_Encoder_seg``; attribute names are the checkpoint's)."""

    def __init__(self) -> None:
        super().__init__()
        self.token_embed = nn.ModuleList()
        self.encoder_pos_embeds = nn.ModuleList()
        for i, d in enumerate(ENCODER_DIMS):
            self.token_embed.append(TokenEmbed(3 if i == 0 else ENCODER_DIMS[i - 1], d))
            self.encoder_pos_embeds.append(nn.Sequential(nn.Linear(3, d), nn.GELU(), nn.Linear(d, d)))
        dpr = [float(x) for x in torch.linspace(0, DROP_PATH_RATE, sum(ENCODER_DEPTHS))]
        self.encoder_blocks = nn.ModuleList()
        start = 0
        for d, depth in zip(ENCODER_DIMS, ENCODER_DEPTHS, strict=True):
            self.encoder_blocks.append(EncoderBlock(d, depth, NUM_HEADS, dpr[start:start + depth]))
            start += depth
        self.encoder_norms = nn.ModuleList([nn.LayerNorm(d) for d in ENCODER_DIMS])


@dataclass(frozen=True)
class EncoderOutput:
    """Multi-scale output of :meth:`PointM2AEEncoder.forward`.

    Attributes:
        centers: per stage, (B, G_s, 3) float centre xyz (student frame).
        tokens: per stage, (B, G_s, D_s) float token features after the stage LayerNorm.
        groups: per stage, (B, G_s, k_s) int64 indices of each centre's group members in the
            previous stage's points (stage 1: the input points).
    """

    centers: tuple[torch.Tensor, ...]
    tokens: tuple[torch.Tensor, ...]
    groups: tuple[torch.Tensor, ...]


class PointM2AEEncoder(nn.Module):
    """The frozen-able Point-M2AE encoder; ``state_dict()`` keys are the checkpoint's
    ``h_encoder.*`` names (see the module doc). Build it with :func:`build_point_m2ae`."""

    def __init__(self) -> None:
        super().__init__()
        self.h_encoder = HEncoder()

    def forward(self, xyz: torch.Tensor) -> EncoderOutput:
        """Encode ``xyz`` (B, N, 3) float32, student frame -> :class:`EncoderOutput`."""
        _check_xyz(xyz)
        enc = self.h_encoder
        centers, tokens, groups = [], [], []
        pts, prev = xyz, None
        for i in range(len(ENCODER_DIMS)):
            neighborhood, center, idx = group(pts, NUM_GROUPS[i], GROUP_SIZES[i])
            if i == 0:
                x = enc.token_embed[0](neighborhood)
            else:
                b, g, k = idx.shape
                members = torch.gather(prev, 1, idx.reshape(b, g * k, 1).expand(-1, -1, prev.shape[-1]))
                x = enc.token_embed[i](members.reshape(b, g, k, -1))
            mask = local_attention_mask(center, LOCAL_RADII[i]) if LOCAL_RADII[i] > 0 else None
            x = enc.encoder_blocks[i](x, enc.encoder_pos_embeds[i](center), mask)
            prev = x  # the next stage groups the un-normalised tokens (official)
            centers.append(center)
            tokens.append(enc.encoder_norms[i](x))
            groups.append(idx)
            pts = center
        return EncoderOutput(tuple(centers), tuple(tokens), tuple(groups))

    def point_features(self, xyz: torch.Tensor) -> torch.Tensor:
        """(B, N, 681) per-point features: [xyz, f₁] ⊕ [xyz, f₂] ⊕ [xyz, f₃], each fₛ the stage's
        tokens carried to the points by 3-NN inverse-squared-distance interpolation (METHODS §4.3,
        PartDistill ``is_learned=False``: no learned propagation MLP)."""
        out = self(xyz)
        parts = []
        for center, tok in zip(out.centers, out.tokens, strict=True):
            parts += [xyz, three_nn_interpolate(xyz, center, tok)]
        return torch.cat(parts, dim=-1)


def _check_xyz(xyz: torch.Tensor) -> None:
    if not isinstance(xyz, torch.Tensor) or xyz.ndim != 3 or xyz.shape[-1] != 3 or xyz.shape[1] < 1:
        got = tuple(xyz.shape) if isinstance(xyz, torch.Tensor) else type(xyz).__name__
        raise InputError(f"Point-M2AE: expected xyz of shape (B, N, 3) with N >= 1, got {got}")
    if not xyz.is_floating_point():
        raise InputError(f"Point-M2AE: expected floating-point xyz, got {xyz.dtype}")


def _init_weights(m: nn.Module) -> None:
    """Official ``_init_weights``: truncated normal (σ 0.02, cut at ±2) for Linear and Conv1d,
    zero biases, LayerNorm 1/0 (BatchNorm keeps torch's 1/0)."""
    if isinstance(m, (nn.Linear, nn.Conv1d)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def build_point_m2ae(*, seed: int | None = None, device: str | torch.device = "cpu") -> PointM2AEEncoder:
    """A randomly initialised encoder (official init) on ``device``, in eval mode.

    Args:
        seed: when given, the weights are drawn from it without touching the global torch RNG;
            otherwise from the current global RNG.
    """
    if seed is None:
        net = PointM2AEEncoder()
        net.apply(_init_weights)
    else:
        state = torch.random.get_rng_state()
        torch.manual_seed(int(seed))
        try:
            net = PointM2AEEncoder()
            net.apply(_init_weights)
        finally:
            torch.random.set_rng_state(state)
    return net.to(device).eval()
