"""PartSTAD settings (METHODS §3): one frozen dataclass, a documented field each, JSON round-trip.

Every default follows the paper's intent where METHODS §3.11 lists a difference between the
paper and the released code; the released behaviour stays available behind a flag (named
``released_*`` or documented as "released: ...") so that parity runs are possible. The choices
are listed in ``docs/partstad.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from partlift.config import Settings
from partlift.errors import InputError
from partlift.lifting.config import VoteConfig, vote_preset

__all__ = ["StadConfig", "INFERENCE_THRESHOLD", "WHOLE_OBJECT_OFF", "migrate_config"]

WHOLE_OBJECT_OFF = 2.0
"""A ``VoteConfig.whole_object_ratio`` above 1: no box holds that fraction of the points, so the
whole-object filter drops nothing (the old ``StadConfig.whole_object_filter=False``)."""

_MOVED = ("vote_eps", "whole_object_filter", "aabb_shortcut")
"""StadConfig fields (checkpoints written before issue 12) that now live in :class:`VoteConfig`."""

INFERENCE_THRESHOLD = 0.5 - 1e-4
"""METHODS §3.7: a superpoint is labelled iff its best part probability is >= 0.5 - 1e-4."""


@dataclass(frozen=True)
class StadConfig(Settings):
    """Settings of PartSTAD's weight net, weighted voting, loss and training (METHODS §3).

    Attributes:
        masks: vote with the predictions' masks (SAM, or the simulated teacher's masks) instead of
            their boxes (§3.2 step 4, §3.4). The weights always come from the box features
            (DESIGN "SAM integration"). Needs a teacher that gives masks.
        weights: predict per-prediction weights with the weight net (§3.3). False: every weight
            is the constant ``tau`` and only the null score is trained (ablation "no weight
            prediction" with PartSTAD's softmax labelling).
        pos_enc: append the NeRF positional encoding of (view direction, box corners) to the
            teacher feature (§3.3; released flag ``--no_pos_enc`` turns it off).
        n_freqs: frequencies of the positional encoding, ``2^0 .. 2^(n_freqs-1)`` (§3.3: 10).
        released_quirks: reproduce the released encoding quirks (§3.3, §3.11.1-2): the view
            vector treats the elevation as a polar angle and zeroes components < 1e-9, and the
            box's width and height are swapped in the second corner. False (default, the paper's
            intent): the true unit view direction and ``(x1/W, y1/H, x2/W, y2/H)``.
        ctx_norm_eps: added to the per-channel variance in context normalisation,
            ``(h - mean) / sqrt(var + eps)`` over the predictions of one shape (§3.3). The
            released code has none (§3.11.3) and gives 0/0 for a one-prediction shape; with
            ``eps`` such a shape normalises to 0. 1e-8 floors the std at 1e-4, below the std
            of the hidden layer at initialisation (~1e-3), so normal shapes are unaffected.
        init_std: std of the N(0, std) init of every Linear weight, biases 0 (§3.3: 1e-4).
        tau: offset of the modified ReLU ``w = max(0, tau + o)`` (§3.3 ``--init_weight``: 10).
        null_init: initial value of the learnable null score theta_0 (§3.3: 10).
        null_min: the null score used is ``max(relu(theta_0), null_min)`` (§3.4: 5e-4).
        min_visible_points: a superpoint votes in a view only if at least this many of its points
            are visible there. 1 (default) = PartSLIP's rule ``> 0`` (§2.4), so that with w = 1
            the vote equals PartSLIP's (§6 sanity test 1); released PartSTAD: 2 (§3.11.5).
        vote: PartSTAD's vote rules, as changes to the run's
            :class:`~partlift.lifting.voting.VoteConfig` applied after the ``"partstad"`` vote
            preset (:data:`~partlift.lifting.config.VOTE_PRESETS`, which turns the zero-area AABB
            shortcut off); see :meth:`vote_rules`. The vote rules have one home, VoteConfig:
            ``vote_eps`` (denominator epsilon, §3.4: 1e-6), ``whole_object_ratio`` (the
            whole-object box filter of PartSLIP §2.3, applied by default so that voting stays
            comparable with PartSLIP's; released PartSTAD computes but does not apply it, §3.2
            step 5, §3.11.4: ``{"whole_object_ratio": 2.0}`` switches it off),
            ``aabb_zero_area_quirk`` / ``aabb_iou_eps`` (released behaviour, §3.2 step 5, §2.4
            caveat: a prediction votes for a superpoint in a view only if the 2D box of the
            superpoint's visible projections has IoU >= 1e-6 with the prediction's box;
            default off here: the exact formula of §3.4). Checkpoints written with the former
            fields ``vote_eps``, ``whole_object_filter``, ``aabb_shortcut`` are read through
            :func:`migrate_config`.
        epochs: training epochs (§3.6: 400).
        batch_size: shapes per optimiser step, shuffled (§3.6: 2).
        lr: AdamW learning rate of the weight net (§3.6: 1e-4).
        null_lr: AdamW learning rate of the null score (§3.6: 0.05).
        weight_decay: AdamW weight decay of both optimisers (§3.6: PyTorch's default 0.01).
        seed: seed of the initialisation and of the batch shuffling (§3.6: 0).
        checkpoint_every: save the resumable training state every this many epochs (and at the
            end); not in METHODS (the released code saves every epoch).
    """

    masks: bool = True
    weights: bool = True
    pos_enc: bool = True
    n_freqs: int = 10
    released_quirks: bool = False
    ctx_norm_eps: float = 1e-8
    init_std: float = 1e-4
    tau: float = 10.0
    null_init: float = 10.0
    null_min: float = 5e-4
    min_visible_points: int = 1
    vote: Mapping[str, Any] = field(default_factory=dict)
    epochs: int = 400
    batch_size: int = 2
    lr: float = 1e-4
    null_lr: float = 0.05
    weight_decay: float = 0.01
    seed: int = 0
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        for name in ("masks", "weights", "pos_enc", "released_quirks"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"StadConfig.{name}: expected True or False, got {getattr(self, name)!r}")
        for name, lo in (("n_freqs", 0), ("min_visible_points", 1), ("epochs", 0),
                         ("batch_size", 1), ("seed", 0), ("checkpoint_every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise InputError(f"StadConfig.{name}: expected an integer >= {lo}, got {value!r}")
        for name in ("ctx_norm_eps", "init_std", "tau", "null_init", "null_min",
                     "lr", "null_lr", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"StadConfig.{name}: expected a finite number, got {value!r}")
            if value < 0 or (value == 0 and name in ("null_min", "lr", "null_lr")):
                raise InputError(f"StadConfig.{name}: expected a number > 0, got {value!r}")

        if not isinstance(self.vote, Mapping):
            raise InputError(f"StadConfig.vote: expected a dict of VoteConfig settings, got {self.vote!r}")
        VoteConfig.check_keys(self.vote, "StadConfig.vote")
        rules = {str(k): self.vote[k] for k in sorted(self.vote)}
        VoteConfig().replace(**rules)  # values checked by VoteConfig
        object.__setattr__(self, "vote", rules)

    def vote_rules(self, run_vote: VoteConfig | None = None) -> VoteConfig:
        """PartSTAD's vote settings: the run's ``run_vote`` (default: the defaults) with the
        ``"partstad"`` vote preset and then :attr:`vote` applied."""
        rules = vote_preset("partstad", run_vote)
        return rules.replace(**self.vote) if self.vote else rules

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StadConfig:
        """Inverse of :meth:`to_dict`; reads the former vote fields too (:func:`migrate_config`)."""
        return super().from_dict(migrate_config(data))

    @property
    def encoding_dim(self) -> int:
        """Length of the positional encoding appended to the features (0 when ``pos_enc`` is off)."""
        return 7 * (1 + 2 * self.n_freqs) if self.pos_enc else 0


def migrate_config(data: Any) -> Any:
    """A StadConfig dict with the former fields ``vote_eps``, ``whole_object_filter`` and
    ``aabb_shortcut`` (checkpoints written before they moved to VoteConfig) rewritten as
    :attr:`StadConfig.vote` rules that vote exactly as before: ``vote_eps`` and
    ``aabb_zero_area_quirk`` explicitly, and ``whole_object_ratio`` = :data:`WHOLE_OBJECT_OFF`
    when the filter was off. Other dicts are returned unchanged."""
    if not isinstance(data, dict) or not any(k in data for k in _MOVED):
        return data
    out = {k: v for k, v in data.items() if k not in _MOVED}
    vote = dict(out.get("vote") or {})
    if "vote_eps" in data:
        vote["vote_eps"] = data["vote_eps"]
    if "aabb_shortcut" in data:
        vote["aabb_zero_area_quirk"] = data["aabb_shortcut"]
    if data.get("whole_object_filter", True) is False:
        vote["whole_object_ratio"] = WHOLE_OBJECT_OFF
    out["vote"] = vote
    return out
