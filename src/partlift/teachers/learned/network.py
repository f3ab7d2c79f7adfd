"""The learned teacher's network: a compact, category-conditioned U-Net in plain PyTorch.

Input: (B, 8, R, R) float32 view tensors built by :mod:`partlift.teachers.learned.inputs`
(RGB, foreground, depth, camera-frame normals). Output: (B, K, R, R) float32 logits over the
checkpoint's class vocabulary ``K = 1 + P`` (class 0 = "object but no named part", classes
``1..P`` = the part names of every trained category), with the logits of classes that the
category does not have set to a large negative number, so that softmax / argmax only ever choose
among the category's parts and "no part".

Architecture (no torchvision): four encoder levels of two (3x3 conv, GroupNorm, ReLU) blocks with
widths ``w, 2w, 4w, 8w`` (2x2 max-pool between levels), a learned category embedding that
modulates the bottleneck and every decoder level (FiLM: ``x * (1 + gamma) + beta``), a decoder
of bilinear upsampling + skip concatenation + two conv blocks per level, and a 1x1 head. The last
decoder activation, (B, w, R, R), is the per-pixel feature map that the teacher pools into each
prediction's feature vector (PartSTAD's weight-net input, METHODS §3.3, where GLIP's feature
plays the same role). GroupNorm rather than BatchNorm: results do not depend on the batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from partlift.errors import InputError

__all__ = ["ModelConfig", "PartUNet", "IN_CHANNELS", "MASKED_LOGIT"]

IN_CHANNELS = 8
"""RGB (3) + foreground (1) + depth (1) + camera-frame normals (3)."""

MASKED_LOGIT = -1e4
"""Logit given to classes the category does not have (exp underflows to exactly 0)."""


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of :class:`PartUNet` (stored in the checkpoint header).

    Attributes:
        n_classes: K = 1 ("no part") + the number of distinct part names.
        n_categories: number of categories (rows of the embedding and of the class mask).
        width: channels of the first level ``w`` (levels have w, 2w, 4w, 8w); also the feature
            dimension of every prediction.
        embed_dim: size of the category embedding.
        resolution: working resolution R (square) the network sees; views are resampled to it.
    """

    n_classes: int
    n_categories: int
    width: int = 24
    embed_dim: int = 32
    resolution: int = 192

    def __post_init__(self) -> None:
        for name in ("n_classes", "n_categories", "width", "embed_dim"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"ModelConfig.{name}: expected >= 1, got {getattr(self, name)}")
        if self.n_classes < 2:
            raise InputError(f"ModelConfig.n_classes: expected >= 2 ('no part' + parts), got {self.n_classes}")
        if self.resolution < 16 or self.resolution % 8:
            raise InputError(
                f"ModelConfig.resolution: expected a multiple of 8 that is >= 16, got {self.resolution}"
            )

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}


def _block(cin: int, cout: int) -> nn.Sequential:
    groups = 8 if cout % 8 == 0 else 1
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.GroupNorm(groups, cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.GroupNorm(groups, cout),
        nn.ReLU(inplace=True),
    )


class PartUNet(nn.Module):
    """Category-conditioned U-Net (see the module doc).

    ``forward(x, category, class_mask)`` with x (B, 8, R', R') float32 (any R' divisible by 8),
    category (B,) int64 and class_mask (n_categories, K) bool returns ``(logits, features)``:
    (B, K, R', R') float32 masked logits and (B, w, R', R') float32 decoder features.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        widths = (w, 2 * w, 4 * w, 8 * w)
        self.enc = nn.ModuleList()
        cin = IN_CHANNELS
        for c in widths:
            self.enc.append(_block(cin, c))
            cin = c
        self.embed = nn.Embedding(config.n_categories, config.embed_dim)
        # FiLM for the bottleneck and the three decoder levels: gamma and beta per channel.
        self.film = nn.ModuleList(
            nn.Linear(config.embed_dim, 2 * c) for c in (widths[3], widths[2], widths[1], widths[0])
        )
        self.dec = nn.ModuleList(
            _block(widths[i + 1] + widths[i], widths[i]) for i in (2, 1, 0)
        )
        self.head = nn.Conv2d(w, config.n_classes, 1)
        for film in self.film:
            nn.init.zeros_(film.weight)
            nn.init.zeros_(film.bias)

    @staticmethod
    def _modulate(x: torch.Tensor, film: nn.Linear, emb: torch.Tensor) -> torch.Tensor:
        gamma, beta = film(emb).chunk(2, dim=1)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]

    def forward(
        self, x: torch.Tensor, category: torch.Tensor, class_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != IN_CHANNELS or x.shape[2] % 8 or x.shape[3] % 8:
            raise InputError(
                f"PartUNet: expected input (B, {IN_CHANNELS}, H, W) with H, W divisible by 8, "
                f"got {tuple(x.shape)}"
            )
        emb = self.embed(category)
        skips = []
        h = x
        for i, enc in enumerate(self.enc):
            if i:
                h = F.max_pool2d(h, 2)
            h = enc(h)
            skips.append(h)
        h = self._modulate(h, self.film[0], emb)
        for j, dec in enumerate(self.dec):
            skip = skips[2 - j]
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = dec(torch.cat([h, skip], dim=1))
            h = self._modulate(h, self.film[j + 1], emb)
        logits = self.head(h)
        allowed = class_mask[category][:, :, None, None]
        logits = logits.masked_fill(~allowed, MASKED_LOGIT)
        return logits, h
