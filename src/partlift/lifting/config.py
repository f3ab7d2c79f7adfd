"""Settings of PartSLIP voting and instance grouping (METHODS §2.3–2.5): :class:`VoteConfig`.

Voting itself is in :mod:`partlift.lifting.voting`, instance grouping in
:mod:`partlift.lifting.instances`, their shared incidence pass in :mod:`partlift.lifting.incidence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from partlift.config import Settings
from partlift.errors import InputError

__all__ = ["PARTSLIP_SMALL_PARTS", "PRIORITY_MODES", "VOTE_PRESETS", "VOTE_REGIONS", "VoteConfig", "vote_preset"]

PARTSLIP_SMALL_PARTS: tuple[str, ...] = (
    "handle",
    "button",
    "wheel",
    "knob",
    "switch",
    "bulb",
    "shaft",
    "touchpad",
    "camera",
    "screw",
)

PRIORITY_MODES: tuple[str, ...] = ("names", "size", "none")
VOTE_REGIONS: tuple[str, ...] = ("box", "mask")


@dataclass(frozen=True)
class VoteConfig(Settings):
    """Settings of PartSLIP voting and instance grouping (METHODS §2.3–2.5).

    Attributes:
        whole_object_ratio: a box containing at least this fraction of all N projected points
            (visible or not, strictly inside) covers the whole object and is ignored for voting
            and coverage vectors (§2.3: 0.98). A value above 1 disables the filter.
        vote_threshold: a superpoint whose best score is below this stays unlabelled, -1
            (§2.4: 0.5; PartSTAD labels its probabilities with 0.5 - 1e-4, §3.7).
        vote_eps: added to the visible-count denominator of the score (§2.4: 1e-6).
        priority_mode: how a superpoint with several parts above the threshold is labelled.
            ``"names"`` (PartSLIP, §2.4): the highest-index part whose name is in
            ``small_part_names`` wins, else the argmax. ``"size"`` (partlift's generalisation for
            part names outside PartNet-E): parts whose relative 2D size (see
            :func:`partlift.lifting.voting.relative_part_sizes`) is below ``small_part_area``
            come first, smallest first (ties: higher index first), else the argmax. ``"none"``:
            always the argmax.
        small_part_names: part names given priority in ``"names"`` mode (compared case-
            insensitively). Only membership matters: among several listed parts above the
            threshold the one with the highest part index wins, as in PartSLIP.
        small_part_area: in ``"size"`` mode, parts whose median box area relative to the object's
            2D bounding box is below this are small (partlift's choice, not in METHODS).
        aabb_zero_area_quirk: True (PartSLIP parity, §2.4 caveat): a box whose 2D IoU with the
            bounding box of a superpoint's visible projections in that view is below
            ``aabb_iou_eps`` gives that superpoint no votes and a 0 coverage entry (§2.5), so a
            superpoint seen as one point or as points on one horizontal/vertical line gets no
            votes from that view. False (fix): the IoU shortcut is not applied, i.e. the exact
            score formula of §2.4; every box votes for the visible points it contains.
        aabb_iou_eps: the IoU of that shortcut (§2.4, §2.5 step 1: 1e-6).
        merge_distance: superpoints merge into one instance if their coverage-vector distance
            is below this (§2.5 step 3: 0.2) ...
        merge_size_ratio: ... and the ratio of their point counts is below this (§2.5: 100).
        adjacency: superpoints are adjacent if the gap between their 3D bounding boxes is below
            this, in unit-sphere units (§2.5 step 2: 0.02).
        dis_eps: below this coverage sum the coverage-vector distance is 1 (§2.5 step 3: 1e-3).
        instance_iou: a candidate instance is kept iff in some view the 2D bounding box of its
            visible projections has IoU above this with a box of its part (§2.5 step 4: 0.5).
        region: what a prediction covers in the semantic vote. ``"box"`` (PartSLIP, §2.4):
            visible points strictly inside its box. ``"mask"`` (partlift's option, in the spirit
            of PartSLIP++'s SAM masks, METHODS §5.1): visible points whose pixel
            ``mask[floor(y), floor(x)]`` is set; the §2.4 score formula is otherwise unchanged
            (each (visible point, view) pair votes at most once per part; the whole-object filter
            and the small-part priority still use the boxes; the zero-area AABB shortcut does not
            apply). Needs predictions with masks (e.g. teacher ``box+sam``). Instances (§2.5)
            always use the boxes.
    """

    whole_object_ratio: float = 0.98
    vote_threshold: float = 0.5
    vote_eps: float = 1e-6
    priority_mode: str = "names"
    small_part_names: tuple[str, ...] = PARTSLIP_SMALL_PARTS
    small_part_area: float = 0.05
    aabb_zero_area_quirk: bool = True
    aabb_iou_eps: float = 1e-6
    merge_distance: float = 0.2
    merge_size_ratio: float = 100.0
    adjacency: float = 0.02
    dis_eps: float = 1e-3
    instance_iou: float = 0.5
    region: str = "box"

    @classmethod
    def from_options(cls, options: Any, context: Any = None) -> VoteConfig:
        """PartSLIP's run config (:mod:`partlift.methods`): the run's vote settings
        (``context.vote``, default: these defaults) with ``options`` (field names) applied."""
        base = getattr(context, "vote", None)
        base = base if isinstance(base, cls) else cls()
        return base.replace(**dict(options or {})) if options else base

    def __post_init__(self) -> None:
        positive = (
            "whole_object_ratio",
            "vote_eps",
            "small_part_area",
            "merge_distance",
            "merge_size_ratio",
            "dis_eps",
        )
        for name in positive:
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise InputError(f"VoteConfig.{name}: expected a finite number > 0, got {value!r}")
        for name in ("vote_threshold", "instance_iou"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise InputError(f"VoteConfig.{name}: expected a number in (0, 1], got {value!r}")
        if not 0 <= self.aabb_iou_eps < 1:
            raise InputError(
                f"VoteConfig.aabb_iou_eps: expected a number in [0, 1), got {self.aabb_iou_eps!r}"
            )
        if not np.isfinite(self.adjacency):
            raise InputError(f"VoteConfig.adjacency: expected a finite number, got {self.adjacency!r}")
        if self.region not in VOTE_REGIONS:
            raise InputError(
                f"VoteConfig.region: expected one of {list(VOTE_REGIONS)}, got {self.region!r}"
            )
        if self.priority_mode not in PRIORITY_MODES:
            raise InputError(
                f"VoteConfig.priority_mode: expected one of {list(PRIORITY_MODES)}, "
                f"got {self.priority_mode!r}"
            )
        if isinstance(self.small_part_names, str) or not all(
            isinstance(n, str) for n in self.small_part_names
        ):
            raise InputError(
                "VoteConfig.small_part_names: expected a tuple of part names, "
                f"got {self.small_part_names!r}"
            )


VOTE_PRESETS: dict[str, dict[str, Any]] = {
    # PartSLIP (METHODS §2.3-2.4): the defaults, with the released zero-area AABB shortcut.
    "partslip": {},
    # PartSTAD's weighted vote (METHODS §3.4): the exact formula, no AABB shortcut (§3.2 step 5:
    # the released code has it; ``StadConfig(vote={"aabb_zero_area_quirk": True})`` restores it).
    "partstad": {"aabb_zero_area_quirk": False},
}
"""How each method's vote departs from the run's :class:`VoteConfig` (a method preset's vote
rules, as data): PartSTAD applies ``VOTE_PRESETS["partstad"]`` and then its own
``StadConfig.vote`` (:meth:`partlift.stad.config.StadConfig.vote_rules`)."""


def vote_preset(name: str, base: VoteConfig | None = None) -> VoteConfig:
    """``base`` (default: the defaults) with the vote preset ``name`` applied; raises with the
    valid names when unknown."""
    if name not in VOTE_PRESETS:
        raise InputError(f"unknown vote preset {name!r}; choose one of {sorted(VOTE_PRESETS)}")
    base = _check_config(base)
    return base.replace(**VOTE_PRESETS[name]) if VOTE_PRESETS[name] else base


def _check_config(config: object) -> VoteConfig:
    if config is None:
        return VoteConfig()
    if not isinstance(config, VoteConfig):
        raise InputError(f"config: expected a VoteConfig, got {type(config).__name__}")
    return config
