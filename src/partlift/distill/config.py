"""Settings of PartDistill (METHODS §4): :class:`DistillConfig` and its named presets.

Every field carries its METHODS source. Where a value is ours rather than the released code's,
the field doc says so and why (the student trains from scratch on a 2-core CPU instead of
fine-tuning a head on a frozen, pretrained Point-M2AE on a GPU, METHODS §4.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from partlift.config import Settings, from_dict
from partlift.errors import InputError

__all__ = [
    "DistillConfig",
    "REGIMES",
    "RESCORE_MODES",
    "REGION_MODES",
    "CONFIDENCE_SOURCES",
    "POOL_MODES",
    "RESCORE_COMBINE",
    "DISTILL_PRESETS",
    "distill_preset",
    "config_from_dict",
]

REGIMES: tuple[str, ...] = ("tta", "pre")
"""``tta``: align a fresh student on each test shape alone; ``pre``: align once on a collection."""

RESCORE_MODES: tuple[str, ...] = ("agree", "iou")
"""Backward re-scoring: ``agree`` = fraction of a prediction's covered points on which the student
agrees (released code, METHODS §4.5); ``iou`` = true IoU of the covered set with the student's
region of that class (the paper-figure reading, an option)."""

REGION_MODES: tuple[str, ...] = ("auto", "box", "mask")
"""Which region of a prediction covers points: ``auto`` = masks for pixel teachers (P-VLM),
boxes otherwise (B-VLM, METHODS §4.1); ``box`` / ``mask`` force one."""

CONFIDENCE_SOURCES: tuple[str, ...] = ("score", "weights")
"""Where a teacher prediction's confidence comes from: the teacher's score (METHODS §4.2) or a
fitted PartSTAD weight net (beyond the paper, DESIGN §3)."""

RESCORE_COMBINE: tuple[str, ...] = ("replace", "multiply")
"""How κ′ enters the backward round: ``replace`` the teacher's confidence (released code, METHODS
§4.5) or ``multiply`` it (κ′ · confidence; ours, an option)."""

POOL_MODES: tuple[str, ...] = ("none", "superpoints")
"""How a student labels a shape: ``none`` = each point by its nearest sub-sampled neighbour's
output (the released student, METHODS §4.3); ``superpoints`` = each superpoint (METHODS §1.4)
takes the mean of its points' logits, the "none" output included (ours, issue 16)."""


@dataclass(frozen=True)
class DistillConfig(Settings):
    """All PartDistill settings; JSON round-trippable with :func:`config_from_dict`.

    Attributes:
        backbone: student backbone name in :mod:`partlift.distill.backbones`. Ours: the released
            code uses a frozen, pretrained Point-M2AE (§4.3), not obtainable here; the default,
            ``pointnet``, trained as well from scratch as ``dgcnn`` and better than ``pointnet2``
            in our measurement at a fraction of the CPU time (docs/partdistill.md "Backbones").
        encoder: weights of a pretrained backbone (``backbone="point-m2ae"``): the official
            ``point_m2ae_pre-train.pth`` (§4.3, loaded strictly), a ``partlift pretrain``
            safetensors file, or ``"packaged"``: the encoder shipped with partlift (our own
            pre-training on generated shapes). None = a random frozen encoder, with a logged
            warning (the "random features" ablation). Must be None for the from-scratch backbones.
        encoder_lr_ratio: 0 (default) = the pretrained encoder stays frozen (§4.3, the paper);
            > 0 = it is **fine-tuned** with learning rate ``lr * encoder_lr_ratio`` on the same
            cosine schedule (ours, the issue-16 "fine-tuned encoder" row). Its normalisation
            layers keep the checkpoint's running statistics and drop-path stays off (eval mode):
            one shape per step is too small a batch to re-estimate BatchNorm statistics. Only
            with a pretrained backbone, and not with ``feature_cache`` (the features change).
        width: channel width multiplier of the backbone (1.0 = the backbone's documented sizes).
        head_hidden: hidden width of the per-point distillation head, a 4-layer MLP with ReLU
            after the first three layers (§4.3: 681→681→681→681→C; narrower here because the
            backbone features are narrower and the head is trained from scratch).
        use_rgb: feed point colours ([0, 1]) to the student (§4.3 uses xyz only; off by default).
        use_normals: feed unoriented normals to the student (not in §4.3; off by default).
        n_points: points the student sees per shape and step (§4.3: 2048).
        knowledge_points: points per shape on which teacher knowledge is kept, drawn once per
            shape with the seed (§4.3 draws the student's 2048 points once; here the pool may be
            larger and each step draws ``n_points`` of it, which lets one TTA shape show the
            student more of its surface). Must be >= ``n_points``.
        epochs: training epochs of the ``pre`` regime (§4.6 README: 25).
        batch_size: shapes per batch in ``pre`` (§4.6: 16; drop-last, capped at the set size).
            Ours: 4. The released setting trains on thousands of ShapeNetPart shapes; on a
            100-shape collection on the CPU, 16 gives 150 optimiser steps in 25 epochs, and a
            from-scratch student needs more updates (measured: docs/partdistill.md).
        lr: Adam learning rate (§4.6: 0.003).
        lr_min_ratio: cosine schedule floor as a fraction of ``lr`` (§4.6: η_min = lr/100).
        tta_epochs: TTA "epochs" on the single test shape (not released, §4.6 "TTA protocol";
            chosen by measurement: 40 x 5 = 200 steps, +1.4 mIoU over 100 steps, well inside the
            < 30 s per shape budget).
        tta_steps_per_epoch: optimiser steps per TTA epoch; an epoch's mean loss feeds the
            plateau rule, so several steps smooth it.
        tta_batch: augmented copies of the test shape per TTA step.
        scale_range: anisotropic scale augmentation, U[lo, hi]³ per item (§4.6).
        translate: translation augmentation, U[-t, t]³ per item (§4.6: 0.1).
        jitter_sigma: per-point Gaussian jitter σ (§4.6: 0.01).
        jitter_clip: jitter clipped to ±this (§4.6: 0.02).
        class_weight_base: base of the log in the class-balance weights ω (§4.4: 4).
        class_weight_max: upper clip of ω (§4.4: 4); the lower clip is 1.
        backward: run the backward-distillation round (§4.5). False = forward only.
        rescore: ``agree`` (released code) or ``iou`` (option), see :data:`RESCORE_MODES`.
        plateau_window: moving-average window of epoch losses (§4.5: n_mov_avg = 5).
        plateau_delta: plateau threshold on the change of the moving average (§4.5: 0.01).
        plateau_min_epoch: a plateau counts once this many epochs have finished (epochs counted
            from 1, as the released loop: ``epoch >= 5``; §4.5: 5).
        backward_latest: if no plateau was seen by ``ceil(backward_latest * epochs)``, the
            backward round starts there (ours: in the released code a run that never plateaus
            never re-scores; a fixed latest point makes "forward + backward" always include the
            round and leaves it epochs to act).
        null_class: give the student a "no part" output, supervised by null pseudo-predictions:
            per view, the visible knowledge points that no prediction of that view covers
            (ours, beyond the paper: ShapeNetPart, PartDistill's benchmark, labels every point,
            but PartNet-E leaves many points unlabelled (-1) and counts a label there as a false
            positive, METHODS §1.6.1; without it a student labels a kettle's body "lid".
            The evidence is PartSLIP's visible-view denominator, §2.4, so the student's argmax
            of {parts, none} plays the role of PartSLIP's 0.5 vote threshold). False = the
            released student (every point gets a part).
        null_weight: confidence of a null pseudo-prediction (teacher scores are in [0.5, 1]).
        balance_null: include the null output in the class-balance weights ω (True), or
            balance the parts among themselves and give the null output ω = 1 (False, default:
            measured in docs/partdistill.md; in a one-part category the null evidence is most of
            the pairs and the balance would weigh the part up to 4x).
        rescore_null: also re-score the null pseudo-predictions in the backward round (True), or
            keep their weight at ``null_weight`` (False): re-scoring judges the *teacher's*
            predictions (§4.5); the null evidence is ours and not the teacher's.
        rescore_class_norm: after re-scoring, scale the κ′ of each part class so that the class
            keeps its total pair weight of the forward round (Σ κ′ = Σ κ over its pairs): κ′ then
            re-ranks the predictions *within* a class but moves no weight *between* classes.
            Ours, a deviation from §4.5 (off by default = the released behaviour): agreement with
            a student that has not yet learnt a small part is low for every prediction of that
            part, correct or not, so plain κ′ starves it (docs/partdistill.md "Backward round").
        pool: ``none`` / ``superpoints``, see :data:`POOL_MODES`: how the student's logits become
            labels of a shape (TTA and pre-aligned students). Ours, beyond §4.3: PartSLIP's
            superpoints (§1.4) keep small parts whole where the student's point-wise argmax
            frays them; pooling the "none" logit with the parts keeps unlabelled regions
            unlabelled. Needs the shape's superpoints (the Segmenter's preparation has them).
        rescore_pool: in the backward round, judge the teacher's predictions against the
            student's *superpoint-pooled* part prediction on the knowledge points (each
            superpoint's knowledge points take their mean logits) instead of the point-wise one
            (ours; needs the knowledge points' superpoint ids, which TTA through the Segmenter
            gives; a collection without superpoints re-scores point-wise, with a log line).
        feature_cache: for a frozen backbone (``point-m2ae``): compute the encoder's per-point
            features of this many augmented draws of each shape's knowledge points once, before
            training, and train the head on them (each step takes one draw per item, seeded);
            0 = off, the encoder runs on a fresh augmented draw at every step (the released loop,
            §4.6). Ours, for CPU time: the encoder is frozen and in eval mode, so a cached draw's
            features equal the recomputed ones exactly; what changes is that the augmentation
            comes from a fixed set of draws instead of a fresh one per step. Memory: shapes ×
            draws × ``n_points`` × 681 × 4 bytes (5.6 MB per draw).
        rescore_combine: ``replace`` / ``multiply``, see :data:`RESCORE_COMBINE` (applied before
            ``rescore_class_norm``).
        region: ``auto`` / ``box`` / ``mask``, see :data:`REGION_MODES`.
        confidence: ``score`` or ``weights``, see :data:`CONFIDENCE_SOURCES`.
        seed: seeds the knowledge sub-samples, the weights init, the batches and augmentation.
    """

    backbone: str = "pointnet"
    encoder: str | None = None
    encoder_lr_ratio: float = 0.0
    width: float = 1.0
    head_hidden: int = 128
    use_rgb: bool = False
    use_normals: bool = False
    n_points: int = 2048
    knowledge_points: int = 4096
    epochs: int = 25
    batch_size: int = 4
    lr: float = 0.003
    lr_min_ratio: float = 0.01
    tta_epochs: int = 40
    tta_steps_per_epoch: int = 5
    tta_batch: int = 1
    scale_range: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.1
    jitter_sigma: float = 0.01
    jitter_clip: float = 0.02
    class_weight_base: float = 4.0
    class_weight_max: float = 4.0
    backward: bool = True
    rescore: str = "agree"
    plateau_window: int = 5
    plateau_delta: float = 0.01
    plateau_min_epoch: int = 5
    backward_latest: float = 0.6
    null_class: bool = True
    null_weight: float = 0.5
    balance_null: bool = False
    rescore_null: bool = False
    rescore_class_norm: bool = False
    pool: str = "none"
    rescore_pool: bool = False
    feature_cache: int = 0
    rescore_combine: str = "replace"
    region: str = "auto"
    confidence: str = "score"
    seed: int = 0

    def __post_init__(self) -> None:
        def positive_int(name: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"DistillConfig.{name}: expected a positive integer, got {v!r}")

        for name in ("head_hidden", "n_points", "knowledge_points", "epochs", "batch_size",
                     "tta_epochs", "tta_steps_per_epoch", "tta_batch", "plateau_window"):
            positive_int(name)
        if self.knowledge_points < self.n_points:
            raise InputError(
                f"DistillConfig.knowledge_points: expected >= n_points ({self.n_points}), "
                f"got {self.knowledge_points}"
            )
        for name in ("width", "lr", "class_weight_base"):
            if not getattr(self, name) > 0:
                raise InputError(f"DistillConfig.{name}: expected > 0, got {getattr(self, name)!r}")
        if self.class_weight_base == 1.0:
            raise InputError("DistillConfig.class_weight_base: expected a log base != 1, got 1")
        if self.class_weight_max < 1.0:
            raise InputError(f"DistillConfig.class_weight_max: expected >= 1, got {self.class_weight_max}")
        if not 0 < self.lr_min_ratio <= 1:
            raise InputError(f"DistillConfig.lr_min_ratio: expected in (0, 1], got {self.lr_min_ratio}")
        lo, hi = self.scale_range
        if not 0 < lo <= hi:
            raise InputError(f"DistillConfig.scale_range: expected 0 < lo <= hi, got {self.scale_range}")
        for name in ("translate", "jitter_sigma", "jitter_clip", "plateau_delta", "null_weight"):
            if getattr(self, name) < 0:
                raise InputError(f"DistillConfig.{name}: expected >= 0, got {getattr(self, name)!r}")
        if isinstance(self.feature_cache, bool) or not isinstance(self.feature_cache, int) or self.feature_cache < 0:
            raise InputError(f"DistillConfig.feature_cache: expected an integer >= 0, got {self.feature_cache!r}")
        if self.plateau_min_epoch < 0:
            raise InputError(f"DistillConfig.plateau_min_epoch: expected >= 0, got {self.plateau_min_epoch}")
        if not 0 < self.backward_latest <= 1:
            raise InputError(f"DistillConfig.backward_latest: expected in (0, 1], got {self.backward_latest}")
        for name, valid in (("rescore", RESCORE_MODES), ("region", REGION_MODES), ("pool", POOL_MODES),
                            ("rescore_combine", RESCORE_COMBINE),
                            ("confidence", CONFIDENCE_SOURCES)):
            if getattr(self, name) not in valid:
                raise InputError(f"DistillConfig.{name}: expected one of {list(valid)}, got {getattr(self, name)!r}")
        if self.encoder is not None and (not isinstance(self.encoder, str) or not self.encoder):
            raise InputError(f"DistillConfig.encoder: expected a weights file path or None, got {self.encoder!r}")
        ratio = self.encoder_lr_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio < 0:
            raise InputError(f"DistillConfig.encoder_lr_ratio: expected a finite number >= 0, got {ratio!r}")
        if ratio > 0 or self.encoder is not None:
            from partlift.distill.backbones import (
                PRETRAINED_BACKBONES,  # torch: only for these settings
            )

            if self.backbone not in PRETRAINED_BACKBONES:
                what = f"encoder_lr_ratio={ratio}" if ratio > 0 else f"encoder={self.encoder!r}"
                raise InputError(
                    f"DistillConfig.{what} needs a pretrained backbone ({sorted(PRETRAINED_BACKBONES)}), got backbone "
                    f"{self.backbone!r} (it trains from scratch); set backbone=point-m2ae or drop the setting"
                )
        if ratio > 0 and self.feature_cache:
            raise InputError(
                f"DistillConfig.encoder_lr_ratio={ratio} fine-tunes the encoder, so its features cannot be cached; "
                f"set feature_cache=0 (got {self.feature_cache}) or encoder_lr_ratio=0"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"DistillConfig.seed: expected a non-negative integer, got {self.seed!r}")

    @property
    def in_dim(self) -> int:
        """Per-point input channels: xyz (3) + rgb (3, optional) + normals (3, optional)."""
        return 3 + 3 * int(self.use_rgb) + 3 * int(self.use_normals)



def config_from_dict(data: dict[str, Any]) -> DistillConfig:
    """A :class:`DistillConfig` from :meth:`DistillConfig.to_dict` output (unknown keys fail)."""
    return from_dict(DistillConfig, data)


DISTILL_PRESETS: dict[str, DistillConfig] = {
    # The measured default (docs/partdistill.md "Superpoint pooling and the backward round"): the
    # student's logits pooled over superpoints; in the backward round κ′ multiplies the teacher's
    # score and is class-normalised — each measured better on the generated and on the real dev
    # shapes; TTA < 15 s per shape and pre-alignment of 100 shapes < 10 min on a 2-core CPU.
    "default": DistillConfig(pool="superpoints", rescore_class_norm=True, rescore_combine="multiply"),
    # Forward distillation only (the ablation row).
    "forward": DistillConfig(backward=False, pool="superpoints"),
    # The defaults before issue 16 (the dataclass defaults): point-wise labels, the released
    # re-scoring (METHODS §4.5) — the evidence tables of docs/partdistill.md up to "Backbones".
    "released": DistillConfig(),
    # The released student (METHODS §4.3): frozen Point-M2AE encoder + the 681-wide 4-layer head;
    # add encoder=<point_m2ae_pre-train.pth> (random encoder otherwise, with a warning).
    "point-m2ae": DistillConfig(backbone="point-m2ae", head_hidden=681),
    # The same frozen encoder for the CPU (docs/partdistill.md "Point-M2AE TTA speed"): its
    # features of 16 augmented draws computed once per shape, a 256-wide head trained on them.
    "point-m2ae-fast": DistillConfig(backbone="point-m2ae", head_hidden=256, feature_cache=16),
    # A small, quick setting for tests and smoke runs (the fastest backbone).
    "tiny": DistillConfig(backbone="pointnet", width=0.5, head_hidden=32, n_points=256, knowledge_points=256, epochs=4,
                          batch_size=4, tta_epochs=4, tta_steps_per_epoch=2, tta_batch=1,
                          plateau_min_epoch=1, plateau_window=2),
}


def distill_preset(name: str) -> DistillConfig:
    """The named preset; raises with the valid names when unknown."""
    try:
        return DISTILL_PRESETS[name]
    except KeyError:
        raise InputError(f"unknown distill preset {name!r}; choose one of {sorted(DISTILL_PRESETS)}") from None
