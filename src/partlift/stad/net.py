"""PartSTAD's weight-prediction network and learnable null score (METHODS §3.3–3.4).

``h = Linear(x)``; ``h~ = ReLU((h - mean_B h) / sqrt(var_B h + eps))`` (context normalisation over
the B predictions of one shape, per channel, population variance); ``z = x + h~``;
``o = Linear(z)``; ``w = max(0, tau + o)``. Linear weights ~ N(0, 1e-4), biases 0, so every weight
starts at ~tau = 10. The null score ``theta_0`` starts at 10 and is used as
``max(relu(theta_0), 5e-4)``.
"""

from __future__ import annotations

import torch
from torch import nn

from partlift.errors import InputError
from partlift.stad.config import StadConfig

__all__ = ["WeightNet", "StadModel", "context_norm"]


def context_norm(h: torch.Tensor, eps: float) -> torch.Tensor:
    """(B, K) -> (B, K): per-channel ``(h - mean) / sqrt(var + eps)`` over the B rows.

    Population variance (``correction=0``, as released). With ``eps > 0`` a single row gives 0,
    never NaN, and gradients stay finite.
    """
    mean = h.mean(dim=0, keepdim=True)
    centred = h - mean
    var = (centred * centred).mean(dim=0, keepdim=True)
    return centred / torch.sqrt(var + eps)


class WeightNet(nn.Module):
    """Per-prediction weight from its input vector (METHODS §3.3), for one shape at a time.

    Args:
        in_dim: input length (teacher feature dim + positional encoding dim; 403 for GLIP).
        config: ``init_std``, ``tau`` and ``ctx_norm_eps``.
    """

    def __init__(self, in_dim: int, config: StadConfig) -> None:
        super().__init__()
        if isinstance(in_dim, bool) or not isinstance(in_dim, int) or in_dim < 1:
            raise InputError(f"WeightNet: expected in_dim >= 1, got {in_dim!r}")
        self.in_dim = in_dim
        self.tau = float(config.tau)
        self.eps = float(config.ctx_norm_eps)
        self.hidden = nn.Linear(in_dim, in_dim)
        self.out = nn.Linear(in_dim, 1)
        self.reset_parameters(float(config.init_std))

    def reset_parameters(self, std: float, generator: torch.Generator | None = None) -> None:
        """Linear weights ~ N(0, std), biases 0 (§3.3)."""
        with torch.no_grad():
            for lin in (self.hidden, self.out):
                lin.weight.normal_(0.0, std, generator=generator)
                lin.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) float32 inputs of one shape -> (B,) float32 weights >= 0."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise InputError(
                f"WeightNet: expected inputs of shape (B, {self.in_dim}), got {tuple(x.shape)}; "
                "the teacher's feature dimension must match the one the net was built for"
            )
        if x.shape[0] == 0:
            return x.new_zeros(0)
        h = torch.relu(context_norm(self.hidden(x), self.eps))
        o = self.out(x + h).squeeze(1)
        return torch.relu(self.tau + o)


class StadModel(nn.Module):
    """The trainable part of PartSTAD: a :class:`WeightNet` and the null score theta_0.

    Args:
        in_dim: weight-net input length.
        config: network settings; with ``config.weights == False`` the weights are the constant
            ``tau`` (the net is still built, so checkpoints have one layout, but unused).
        generator: torch generator for the initialisation (seeded by the caller).
    """

    def __init__(self, in_dim: int, config: StadConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.net = WeightNet(in_dim, config)
        if generator is not None:
            self.net.reset_parameters(float(config.init_std), generator)
        self.null_score = nn.Parameter(torch.tensor(float(config.null_init)))
        self.null_min = float(config.null_min)
        self.learn_weights = bool(config.weights)
        self.tau = float(config.tau)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B,) prediction weights (the constant ``tau`` without weight prediction)."""
        if not self.learn_weights:
            return x.new_full((x.shape[0],), self.tau)
        return self.net(x)

    def null(self) -> torch.Tensor:
        """The null-label score ``max(relu(theta_0), null_min)`` (0-d tensor)."""
        return torch.clamp(torch.relu(self.null_score), min=self.null_min)
