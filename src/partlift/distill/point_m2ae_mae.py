"""Point-M2AE's self-supervised pre-training model: multi-scale masked autoencoding (Zhang et al.,
NeurIPS 2022; official ``models/Point_M2AE.py`` ``Point_M2AE``, ``cfgs/pre-training/point-m2ae.yaml``).

One step on a batch of (B, N, 3) clouds (student frame):

1. Tokenise the three stages (FPS + kNN, :func:`~partlift.distill.point_m2ae_ops.group`).
2. **Multi-scale mask**: mask ``mask_ratio`` (0.8) of the 64 stage-3 centres at random; a stage-2
   (then stage-1) token is visible iff it belongs to the group of a visible token above it, so a
   visible group never contains a masked member.
3. **Encode the visible tokens** with the encoder of :mod:`partlift.distill.point_m2ae`: attention
   keys are restricted to the visible tokens of the sample (masked tokens never reach a visible
   one). As in the official pre-training, the local-attention radii are not applied (its config:
   "disabled for pre-training").
4. **Decode**: stage-3 visible tokens plus a learned ``mask_token`` at the masked positions, a
   position embedding, one transformer block (384); token propagation to stage 2 (3-NN
   interpolation, concatenated with the stage-2 encoder tokens — zero where masked — then
   Conv-BN-GELU and a residual Conv-BN block), position embedding, one block (192), LayerNorm.
5. **Reconstruct** each masked stage-2 group (its 8 stage-1 centres relative to its centre) with
   16 predicted points (``rec_head``: Conv1d 192 → 48); loss = Chamfer L2 (mean squared distance
   to the nearest point, both directions, summed).

Parameter names are the official ones, so ``state_dict()`` is the official ``base_model`` layout
and its ``h_encoder.*`` tensors are a :class:`~partlift.distill.point_m2ae.PointM2AEEncoder`.

Deviations (ours): visible tokens are kept in place with masked attention instead of being
packed into padded sequences (the same arithmetic for every visible token and every loss term);
the official mask back-propagation also marks token 0 of the batch's first sample visible
(``~mask * idx`` maps every masked group's members to flat index 0) — not reproduced.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from partlift.distill.point_m2ae import (
    ENCODER_DIMS,
    GROUP_SIZES,
    NUM_GROUPS,
    NUM_HEADS,
    Block,
    HEncoder,
    PointM2AEEncoder,
    _init_weights,
)
from partlift.distill.point_m2ae_ops import ATTENTION_MASK_VALUE, group, three_nn_interpolate
from partlift.errors import InputError

__all__ = ["MASK_RATIO", "DECODER_DIMS", "PointM2AEPretrainModel", "multiscale_mask", "chamfer_l2"]

MASK_RATIO = 0.8
"""Fraction of the stage-3 tokens masked (official config)."""
DECODER_DIMS: tuple[int, ...] = (384, 192)
"""Decoder widths, top stage first (official config; one block each)."""
DECODER_DROP_PATH = (0.0, 0.1)
"""Drop-path of the two decoder blocks (official: linspace(0, 0.1, 2))."""


class _ConvBNGELU(nn.Module):
    """Official ``ConvBNReLU1D`` (its activation is GELU): ``net`` = Conv1d(k=1), BN, GELU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(c_in, c_out, 1), nn.BatchNorm1d(c_out), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _ConvBNRes(nn.Module):
    """Official ``ConvBNReLURes1D`` (groups 1, expansion 1): GELU(net2(net1(x)) + x)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.net1 = nn.Sequential(nn.Conv1d(c, c, 1), nn.BatchNorm1d(c), nn.GELU())
        self.net2 = nn.Sequential(nn.Conv1d(c, c, 1), nn.BatchNorm1d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.net2(self.net1(x)) + x)


class _PosExtraction(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.operation = nn.Sequential(_ConvBNRes(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.operation(x)


class TokenPropagation(nn.Module):
    """Official ``PointNetFeaturePropagation`` of the decoder: 3-NN interpolation of the upper
    tokens, concatenated after the lower tokens, then ``fuse`` and ``extraction``."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.fuse = _ConvBNGELU(c_in, c_out)
        self.extraction = _PosExtraction(c_out)

    def forward(self, xyz1: torch.Tensor, xyz2: torch.Tensor, points1: torch.Tensor, points2: torch.Tensor) -> torch.Tensor:
        """xyz1 (B, N, 3) lower centres, xyz2 (B, S, 3) upper centres, points1 (B, N, D1),
        points2 (B, S, D2) -> (B, N, c_out)."""
        x = torch.cat([points1, three_nn_interpolate(xyz1, xyz2, points2)], dim=-1).transpose(1, 2)
        return self.extraction(self.fuse(x)).transpose(1, 2)


class _DecoderBlock(nn.Module):
    """Official ``Decoder_Block``: blocks without attention mask, position added before each."""

    def __init__(self, dim: int, drop_path: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, NUM_HEADS, drop_path)])
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x + pos, None)
        return x


def multiscale_mask(groups: tuple[torch.Tensor, ...], n_top: int, mask_ratio: float,
                    generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Visibility per stage, (B, G_s) bool, True = visible (step 2 of the module doc).

    Args:
        groups: per stage, (B, G_s, k_s) member indices into the stage below (stage 1: points).
        n_top: G of the top stage. mask_ratio: fraction of top tokens masked (int(ratio * G)).
        generator: the random source of the top mask (on the tensors' device).
    """
    b = groups[-1].shape[0]
    dev = groups[-1].device
    n_mask = int(mask_ratio * n_top)
    scores = torch.rand(b, n_top, generator=generator, device=dev)
    order = scores.argsort(dim=1)
    visible = torch.zeros(b, n_top, dtype=torch.bool, device=dev)
    visible.scatter_(1, order[:, : n_top - n_mask], True)
    out = [visible]
    for s in range(len(groups) - 1, 0, -1):
        n_below = groups[s - 1].shape[1]
        members = groups[s].masked_fill(~out[-1][..., None], n_below).reshape(b, -1)  # masked -> dump slot
        below = torch.zeros(b, n_below + 1, dtype=torch.bool, device=dev)
        below.scatter_(1, members, True)
        out.append(below[:, :n_below])
    return out[::-1]


def chamfer_l2(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Chamfer L2 of (L, P, 3) vs (L, Q, 3): mean over all predicted points of the squared distance
    to the nearest ground-truth point, plus the same the other way (official ChamferDistanceL2)."""
    d = torch.cdist(pred, gt, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    return d.min(dim=2).values.mean() + d.min(dim=1).values.mean()


class PointM2AEPretrainModel(nn.Module):
    """Encoder + hierarchical decoder + reconstruction head (official names; see the module doc).

    ``forward(xyz (B, N, 3), generator) -> scalar loss``. :meth:`encoder` copies out the encoder.
    """

    def __init__(self, mask_ratio: float = MASK_RATIO) -> None:
        super().__init__()
        if not 0.0 <= mask_ratio < 1.0:
            raise InputError(f"Point-M2AE pre-training: expected 0 <= mask_ratio < 1, got {mask_ratio}")
        self.mask_ratio = float(mask_ratio)
        self.h_encoder = HEncoder()
        self.h_encoder.apply(_init_weights)
        self.mask_token = nn.Parameter(torch.zeros(1, DECODER_DIMS[0]))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.h_decoder = nn.ModuleList([_DecoderBlock(d, p) for d, p in zip(DECODER_DIMS, DECODER_DROP_PATH, strict=True)])
        self.decoder_pos_embeds = nn.ModuleList(
            [nn.Sequential(nn.Linear(3, d), nn.GELU(), nn.Linear(d, d)) for d in DECODER_DIMS]
        )
        self.token_prop = nn.ModuleList([TokenPropagation(DECODER_DIMS[0] + DECODER_DIMS[1], DECODER_DIMS[1])])
        self.decoder_norm = nn.LayerNorm(DECODER_DIMS[-1])
        self.rec_head = nn.Conv1d(DECODER_DIMS[-1], 3 * GROUP_SIZES[0], 1)

    def encoder(self) -> PointM2AEEncoder:
        """A new :class:`PointM2AEEncoder` (eval mode) holding a copy of the encoder weights."""
        net = PointM2AEEncoder()
        net.h_encoder.load_state_dict(self.h_encoder.state_dict(), strict=True)
        return net.to(self.mask_token.device).eval()

    def forward(self, xyz: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if xyz.ndim != 3 or xyz.shape[-1] != 3 or xyz.shape[1] < NUM_GROUPS[0]:
            raise InputError(f"Point-M2AE pre-training: expected (B, N >= {NUM_GROUPS[0]}, 3) points, got {tuple(xyz.shape)}")
        enc = self.h_encoder
        neighborhoods, centers, groups = [], [], []
        pts = xyz
        for s in range(len(ENCODER_DIMS)):
            nb, c, idx = group(pts, NUM_GROUPS[s], GROUP_SIZES[s])
            neighborhoods.append(nb)
            centers.append(c)
            groups.append(idx)
            pts = c
        visible = multiscale_mask(tuple(groups), centers[-1].shape[1], self.mask_ratio, generator)
        encoded = []
        prev = None
        for s in range(len(ENCODER_DIMS)):
            if s == 0:
                x = enc.token_embed[0](neighborhoods[0])
            else:
                b, g, k = groups[s].shape
                members = torch.gather(prev, 1, groups[s].reshape(b, g * k, 1).expand(-1, -1, prev.shape[-1]))
                x = enc.token_embed[s](members.reshape(b, g, k, -1))
            key_mask = (~visible[s]).to(x.dtype)[:, None, :] * ATTENTION_MASK_VALUE  # (B, 1, G)
            key_mask = key_mask.expand(-1, x.shape[1], -1)
            x = enc.encoder_blocks[s](x, enc.encoder_pos_embeds[s](centers[s]), key_mask)
            prev = x
            encoded.append(enc.encoder_norms[s](x))
        # decoder, top stage: visible tokens, mask token elsewhere
        top = torch.where(visible[-1][..., None], encoded[-1], self.mask_token.to(encoded[-1].dtype))
        x = self.h_decoder[0](top, self.decoder_pos_embeds[0](centers[-1]))
        # stage 2: propagate, add the (visible) stage-2 encoder tokens
        lower = encoded[-2] * visible[-2][..., None].to(encoded[-2].dtype)
        x = self.token_prop[0](centers[-2], centers[-1], lower, x)
        x = self.h_decoder[1](x, self.decoder_pos_embeds[1](centers[-2]))
        x = self.decoder_norm(x)
        masked = ~visible[-2]
        rec_in = x[masked]  # (L, 192)
        if rec_in.shape[0] == 0:
            return x.sum() * 0.0
        rec = self.rec_head(rec_in[:, :, None]).reshape(rec_in.shape[0], -1, 3)
        gt = neighborhoods[-2][masked]  # (L, 8, 3)
        return chamfer_l2(rec, gt)
