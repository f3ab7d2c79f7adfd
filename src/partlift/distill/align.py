"""Aligning a student to teacher knowledge: forward + backward distillation (METHODS §4.4–4.6).

One loop serves both regimes; they differ only in the collection and the epoch layout
(METHODS §7.10):

* ``pre``: an epoch is a shuffled pass over the collection in batches of ``batch_size`` shapes
  (drop-last; the batch size is capped at the collection size, §4.6).
* ``tta``: the collection is the test shape; an epoch is ``tta_steps_per_epoch`` steps on
  ``tta_batch`` augmented copies of it.

Each item of a batch is ``n_points`` of the shape's knowledge points (a fresh random choice when
``knowledge_points > n_points``, else a permutation), augmented as in §4.6 (anisotropic scale,
translation, clipped jitter). Adam with a per-epoch cosine schedule (§4.6; the written-out
:class:`~partlift.training.Adam` and :func:`~partlift.training.cosine_lr`, re-exported here).
Files, resume state, log and curve go through :mod:`partlift.training`, as PartSTAD's do.

**Backward distillation** (§4.5): after each epoch the epoch-mean loss enters a moving window of
``plateau_window`` epochs; when the window mean changes by less than ``plateau_delta`` (once
``plateau_min_epoch`` epochs have finished, counting from 1 as the released loop does,
:func:`plateau_update`) — or at the latest at ``ceil(backward_latest * epochs)`` (ours, see
:class:`~partlift.distill.config.DistillConfig`) — the next epoch starts by predicting every
shape's knowledge points with the current student, re-scoring every teacher prediction
(:func:`~partlift.distill.losses.rescore`) and replacing the confidences; training then goes on
(one round, as released).

Deviations from the released code (METHODS §4.12), all deliberate:

1. No model selection on labels: the released code keeps the best-*test*-mIoU epoch and reloads
   it for the backward snapshot. Here the student after the last epoch is the result and the
   snapshot uses the current weights. Ground truth is never read.
2. One mode throughout: the backbones use LayerNorm (no train/eval difference, §4.12.2).
3. The snapshot runs on the same student-frame points the student trains on (§4.12.3).

Determinism and resume: the generator of epoch ``e`` is ``(seed, e)``, so a run resumed from
its last finished epoch (model, optimiser, plateau window and re-scored confidences saved after
every epoch) continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from partlift import training
from partlift.distill.config import DistillConfig, config_from_dict
from partlift.distill.knowledge import ShapeKnowledge
from partlift.distill.losses import forward_loss, rescore
from partlift.distill.student import Student, build_student, pool_logits
from partlift.errors import CheckpointError, InputError
from partlift.training import Adam, RunPaths, cosine_lr

__all__ = [
    "Adam",
    "cosine_lr",
    "AlignPaths",
    "AlignResult",
    "align",
    "optimizer",
    "predict_knowledge",
    "knowledge_logits",
    "feature_cache",
    "save_student",
    "load_student",
    "LoadedStudent",
    "plot_curve",
    "plateau_update",
    "backward_start_epoch",
    "CHECKPOINT_KEY",
]

logger = logging.getLogger(__name__)

CHECKPOINT_KEY = "partlift_distill"
"""safetensors metadata key holding the student's JSON description."""

FORMAT_VERSION = 1
"""Version of the student checkpoint and resume-state layout."""


class AlignPaths(RunPaths):
    """Files of a resumable alignment run (:class:`partlift.training.RunPaths`): ``out`` the
    student (safetensors), ``log`` the per-epoch JSON log, ``curve`` the loss PNG, ``state`` the
    resume state (deleted after success)."""


@dataclass(eq=False)
class AlignResult:
    """The aligned student and what happened.

    Attributes:
        student: the trained :class:`Student` (eval mode).
        log: one dict per epoch (epoch, mode, loss, lr, moving average, delta, seconds, ...).
        backward_epoch: the epoch at which re-scoring happened, or None (forward only).
        rescored: per shape (D,) float32 re-scored confidences, or None.
        seconds: wall time of this call.
        resumed_from: the epoch a resumed run started at (0 for a fresh run).
        rescore_labels: per shape (M,) int64 the student's part argmax on the knowledge points
            that the re-scoring judged against (superpoint-pooled with ``rescore_pool``), or None
            (no backward round in this call; for diagnostics,
            :func:`partlift.distill.evidence.backward_diagnostic`).
    """

    student: Student
    log: list[dict[str, Any]]
    backward_epoch: int | None
    rescored: list[np.ndarray] | None
    seconds: float
    resumed_from: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    rescore_labels: list[np.ndarray] | None = None


# ----------------------------------------------------------------------------------- batches


def _epoch_batches(regime: str, n_shapes: int, config: DistillConfig, rng: np.random.Generator) -> list[np.ndarray]:
    if regime == "pre":
        bs = min(config.batch_size, n_shapes)
        order = rng.permutation(n_shapes)
        return [order[i * bs:(i + 1) * bs] for i in range(n_shapes // bs)]
    steps, b = config.tta_steps_per_epoch, config.tta_batch
    flat = np.arange(steps * b) % n_shapes
    return [flat[i * b:(i + 1) * b] for i in range(steps)]


@dataclass(frozen=True)
class _Batch:
    xyz: torch.Tensor  # (B, N, 3)
    inputs: torch.Tensor  # (B, N, in_dim)
    pair_point: torch.Tensor  # (P,) into B*N
    pair_class: torch.Tensor
    pair_conf: torch.Tensor


def _make_batch(
    items: np.ndarray,
    knowledge: Sequence[ShapeKnowledge],
    confs: Sequence[np.ndarray],
    config: DistillConfig,
    rng: np.random.Generator,
    device: torch.device,
    *,
    augment: bool = True,
) -> _Batch:
    n = config.n_points
    xyzs, inps, pp, pc, pw = [], [], [], [], []
    for b, k in enumerate(items):
        kn = knowledge[int(k)]
        m = kn.n_points
        sel = rng.permutation(m)[:n] if m >= n else np.concatenate([np.arange(m), rng.choice(m, n - m)])
        pos = np.full(m, -1, np.int64)
        pos[sel] = np.arange(len(sel))
        xyz = kn.xyz[sel].astype(np.float32)
        inp = kn.inputs[sel].astype(np.float32).copy()
        if augment:
            lo, hi = config.scale_range
            scale = rng.uniform(lo, hi, size=3)
            shift = rng.uniform(-config.translate, config.translate, size=3)
            jit = np.clip(rng.normal(0.0, config.jitter_sigma, size=xyz.shape), -config.jitter_clip, config.jitter_clip)
            xyz = (xyz * scale + shift + jit).astype(np.float32)
            inp[:, :3] = xyz
        keep = pos[kn.pair_point] >= 0
        pp.append(pos[kn.pair_point[keep]] + b * n)
        pc.append(kn.pred_class[kn.pair_pred[keep]])
        pw.append(confs[int(k)][kn.pair_pred[keep]])
        xyzs.append(xyz)
        inps.append(inp)
    return _Batch(
        xyz=torch.from_numpy(np.stack(xyzs)).to(device),
        inputs=torch.from_numpy(np.stack(inps)).to(device),
        pair_point=torch.from_numpy(np.concatenate(pp)).to(device),
        pair_class=torch.from_numpy(np.concatenate(pc)).to(device),
        pair_conf=torch.from_numpy(np.concatenate(pw).astype(np.float32)).to(device),
    )


@dataclass(frozen=True)
class _CachedDraw:
    """One augmented draw of a shape's knowledge points with its frozen-backbone features."""

    sel: np.ndarray  # (N,) knowledge-point index of each drawn point
    features: torch.Tensor  # (N, F) backbone output (no grad)


@torch.no_grad()
def feature_cache(student: Student, knowledge: Sequence[ShapeKnowledge], config: DistillConfig,
                  device: torch.device) -> list[list[_CachedDraw]]:
    """Per shape, ``config.feature_cache`` augmented draws of its knowledge points and the frozen
    backbone's features of each (see ``DistillConfig.feature_cache``).

    Draw ``j`` of shape ``i`` is :func:`_make_batch`'s draw and augmentation under the generator
    ``(seed, 7919, i, j)``, so the cache does not depend on the epoch or on a resume.

    Raises:
        InputError: the backbone trains (only a frozen backbone's features can be reused).
    """
    if not getattr(student.backbone, "frozen", False):
        raise InputError(
            f"DistillConfig.feature_cache={config.feature_cache} needs a frozen backbone (point-m2ae); "
            f"{config.backbone!r} trains, so its features change every step; set feature_cache=0"
        )
    out: list[list[_CachedDraw]] = []
    confs = [np.zeros(k.n_predictions, np.float32) for k in knowledge]
    for i, k in enumerate(knowledge):
        draws = []
        for j in range(config.feature_cache):
            key = [config.seed, 7919, i, j]
            sel = _draw(k, config.n_points, np.random.default_rng(key))  # the batch's own first draw
            batch = _make_batch(np.array([i]), knowledge, confs, config, np.random.default_rng(key), device)
            draws.append(_CachedDraw(sel, student.backbone(batch.xyz, batch.inputs)[0].detach()))
        out.append(draws)
    return out


def _draw(kn: ShapeKnowledge, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) the knowledge points one batch item takes (:func:`_make_batch`'s first draw)."""
    m = kn.n_points
    return rng.permutation(m)[:n] if m >= n else np.concatenate([np.arange(m), rng.choice(m, n - m)])


def _cached_batch(
    items: np.ndarray,
    knowledge: Sequence[ShapeKnowledge],
    confs: Sequence[np.ndarray],
    cache: Sequence[Sequence[_CachedDraw]],
    n: int,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(features (B, N, F), pair_point, pair_class, pair_conf)`` of a batch from cached draws:
    each item takes one of its shape's draws (chosen by ``rng``); pairs as :func:`_make_batch`."""
    feats, pp, pc, pw = [], [], [], []
    for b, k in enumerate(items):
        kn = knowledge[int(k)]
        draw = cache[int(k)][int(rng.integers(len(cache[int(k)])))]
        pos = np.full(kn.n_points, -1, np.int64)
        pos[draw.sel] = np.arange(len(draw.sel))
        keep = pos[kn.pair_point] >= 0
        pp.append(pos[kn.pair_point[keep]] + b * n)
        pc.append(kn.pred_class[kn.pair_pred[keep]])
        pw.append(confs[int(k)][kn.pair_pred[keep]])
        feats.append(draw.features)
    dev = feats[0].device
    return (torch.stack(feats), torch.from_numpy(np.concatenate(pp)).to(dev),
            torch.from_numpy(np.concatenate(pc)).to(dev),
            torch.from_numpy(np.concatenate(pw).astype(np.float32)).to(dev))


@torch.no_grad()
def knowledge_logits(student: Student, knowledge: Sequence[ShapeKnowledge], *, device: str | torch.device = "cpu",
                     seed: int = 0) -> list[np.ndarray]:
    """(M, K) float32 student logits on every shape's knowledge points (no augmentation, eval mode).

    The student sees clouds of ``config.n_points`` points, as in training: a shape's M knowledge
    points are split by a seeded permutation into chunks of ``n_points`` (the last one filled up
    with other points of the shape), so every knowledge point is predicted at the training density.
    """
    student.eval()
    n = student.config.n_points
    dev = torch.device(device)
    out: list[np.ndarray] = []
    for k in knowledge:
        m = k.n_points
        order = np.random.default_rng([seed, m]).permutation(m)
        n_chunks = max(1, math.ceil(m / n))
        pad = n_chunks * n - m
        idx = np.concatenate([order, order[:pad]]) if pad <= m else np.resize(order, n_chunks * n)
        idx = idx.reshape(n_chunks, n)
        xyz = torch.from_numpy(k.xyz[idx]).to(dev)
        inp = torch.from_numpy(k.inputs[idx]).to(dev)
        logits = student(xyz, inp).reshape(n_chunks * n, -1).cpu().numpy()
        res = np.empty((m, logits.shape[1]), np.float32)
        res[idx.reshape(-1)[::-1]] = logits[::-1]  # the first occurrence of a padded point wins
        out.append(res)
    return out


def predict_knowledge(student: Student, knowledge: Sequence[ShapeKnowledge], *, device: str | torch.device = "cpu",
                      seed: int = 0, parts_only: bool = False) -> list[np.ndarray]:
    """(M,) int64 student argmax on every shape's knowledge points (see :func:`knowledge_logits`).

    ``parts_only``: argmax over the C part outputs only (ignoring the "none" output).
    """
    c = student.n_parts if parts_only else None
    return [lg[:, :c].argmax(axis=1).astype(np.int64) for lg in knowledge_logits(student, knowledge, device=device,
                                                                                 seed=seed)]


def _rescored(logits: np.ndarray, k: ShapeKnowledge, config: DistillConfig,
              superpoints: np.ndarray | None = None) -> np.ndarray:
    """(D,) κ′ of a shape's predictions from the student's (M, K) logits on its knowledge points.

    With ``config.rescore_pool`` and ``superpoints`` ((M,) superpoint id of each knowledge point)
    the logits are first averaged per superpoint (:func:`~partlift.distill.student.pool_logits`),
    so a prediction is judged against the student's superpoint-pooled labels.

    A teacher prediction is judged against the student's *part* prediction, the argmax over the C
    part outputs: the released student has no "none" output, so that is its prediction (§4.5);
    judging it against the full argmax would zero every prediction of a part the student still
    ranks below "none" and drive small parts out. Null pseudo-predictions are, with
    ``config.rescore_null``, judged against the full argmax; otherwise their weight is scaled by
    the shape's ratio of part evidence after / before re-scoring (Σ κ′ / Σ κ over the part pairs),
    so the balance between "some part" and "none" stays that of the forward round: box
    predictions cover more than their part, so κ′ is on average below the teacher score, and
    without the scaling the round would mostly move points to "none".

    With ``config.rescore_combine == "multiply"`` κ′ is multiplied by the prediction's teacher
    confidence (the null entries are then set as below).

    With ``config.rescore_class_norm`` the κ′ of each part class are scaled so that the class's
    total pair weight stays that of the forward round (a class whose pairs all get κ′ = 0 keeps
    κ′ = 0); see :class:`~partlift.distill.config.DistillConfig`.
    """
    c = len(k.part_names)
    if config.rescore_pool and superpoints is not None:
        logits = pool_logits(logits, superpoints)
    kappa = rescore(logits[:, :c].argmax(axis=1), k.pair_point, k.pair_pred, k.pred_class, mode=config.rescore)
    if config.rescore_combine == "multiply":
        kappa = (kappa * k.pred_conf).astype(np.float32)
    if config.rescore_class_norm:
        kappa = _class_normalised(kappa, k, c)
    if k.with_null:
        null = k.pred_class >= c
        if config.rescore_null:
            full = rescore(logits.argmax(axis=1), k.pair_point, k.pair_pred, k.pred_class, mode=config.rescore)
            kappa[null] = full[null]
        else:
            part_pairs = ~null[k.pair_pred]
            before = float(k.pred_conf[k.pair_pred[part_pairs]].sum())
            after = float(kappa[k.pair_pred[part_pairs]].sum())
            kappa[null] = k.pred_conf[null] * (after / before if before > 0 else 1.0)
    return kappa


def _class_normalised(kappa: np.ndarray, k: ShapeKnowledge, n_parts: int) -> np.ndarray:
    """(D,) κ′ scaled per part class c by Σ_{pairs of c} κ / Σ_{pairs of c} κ′ (null entries kept)."""
    cls = k.pred_class[k.pair_pred]
    part = cls < n_parts
    before = np.bincount(cls[part], weights=k.pred_conf[k.pair_pred[part]].astype(np.float64), minlength=n_parts)
    after = np.bincount(cls[part], weights=kappa[k.pair_pred[part]].astype(np.float64), minlength=n_parts)
    scale = np.divide(before, after, out=np.zeros(n_parts), where=after > 0)
    out = kappa.astype(np.float64).copy()
    is_part = k.pred_class < n_parts
    out[is_part] *= scale[k.pred_class[is_part]]
    return out.astype(np.float32)


# ----------------------------------------------------------------------------------- plateau rule


def plateau_update(losses: Sequence[float], prev_avg: float | None,
                   config: DistillConfig) -> tuple[float, float | None, bool]:
    """The backward round's trigger after an epoch (METHODS §4.5), as the released loop counts.

    Args:
        losses: the epoch-mean losses of every finished epoch, the one just finished last
            (``len(losses)`` is that epoch's 1-based number).
        prev_avg: the moving average after the previous epoch (None after the first).
        config: ``plateau_window``, ``plateau_delta``, ``plateau_min_epoch``.

    Returns:
        ``(avg, delta, plateau)``: the mean of the last ``plateau_window`` losses, its change
        since ``prev_avg`` (None after the first epoch) and whether the plateau is reached:
        ``delta < plateau_delta`` once at least ``max(plateau_min_epoch, plateau_window)`` epochs
        have finished. The released ``train.py`` counts epochs from 1 (``epoch >= 5`` after the
        5th epoch), so the round can start at the 6th epoch (0-based index 5), not the 7th.
    """
    done = len(losses)
    avg = float(np.mean(losses[-config.plateau_window:]))
    delta = None if prev_avg is None else abs(avg - prev_avg)
    plateau = (
        delta is not None and delta < config.plateau_delta and done >= config.plateau_min_epoch
        and done >= config.plateau_window
    )
    return avg, delta, plateau


def backward_start_epoch(losses: Sequence[float], config: DistillConfig) -> int | None:
    """0-based index of the epoch that :func:`align` starts with the backward round, given the
    epoch-mean ``losses`` (plateau rule only, without the ``backward_latest`` fallback), or None
    when no plateau is reached in them. The round starts at the epoch after the plateau."""
    prev: float | None = None
    for i in range(len(losses)):
        prev, _, plateau = plateau_update(losses[: i + 1], prev, config)
        if plateau:
            return i + 1
    return None


# ----------------------------------------------------------------------------------- checks


def _check_knowledge(knowledge: Sequence[ShapeKnowledge], part_names: tuple[str, ...],
                     config: DistillConfig) -> list[ShapeKnowledge]:
    knowledge = list(knowledge)
    if not knowledge:
        raise InputError(
            "distill: the collection is empty (no shape with teacher knowledge); give shapes on "
            "which the teacher finds the parts, e.g. --collection synthetic:Chair:100"
        )
    for k in knowledge:
        if not isinstance(k, ShapeKnowledge):
            raise InputError(f"distill: expected ShapeKnowledge items, got {type(k).__name__}")
        if tuple(k.part_names) != part_names:
            raise InputError(
                f"distill: shape {k.name!r} has knowledge for parts {list(k.part_names)}, expected {list(part_names)}"
            )
        if k.with_null != config.null_class:
            raise InputError(
                f"distill: shape {k.name!r} has knowledge built with null_class={k.with_null} but "
                f"the settings say null_class={config.null_class}; rebuild the knowledge"
            )
        if k.is_empty:
            raise InputError(
                f"distill: shape {k.name!r} has no covered point (the teacher found nothing); "
                "skip it before aligning (partlift.distill.collection does)"
            )
    return knowledge


def _check_superpoints(superpoints: Sequence[np.ndarray] | None,
                       knowledge: Sequence[ShapeKnowledge]) -> list[np.ndarray] | None:
    if superpoints is None:
        return None
    sp = [np.asarray(s) for s in superpoints]
    if len(sp) != len(knowledge) or any(s.shape != (k.n_points,) for s, k in zip(sp, knowledge, strict=False)):
        raise InputError(
            f"distill: expected one (M,) superpoint id array per knowledge item ({len(knowledge)} items), got "
            f"{[s.shape for s in sp]}; pass prepared.superpoints[knowledge.point_index]"
        )
    return sp


def _fingerprint(knowledge: Sequence[ShapeKnowledge], config: DistillConfig, regime: str,
                 part_names: tuple[str, ...], init: torch.nn.Module | None = None) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"config": config.to_dict(), "regime": regime, "parts": list(part_names)},
                        sort_keys=True).encode())
    for k in knowledge:
        h.update(k.name.encode())
        for a in (k.pair_point, k.pair_pred, k.pred_class, k.pred_conf, k.point_index):
            h.update(np.ascontiguousarray(a).tobytes())
    if init is not None:
        for key, t in sorted(init.state_dict().items()):
            h.update(key.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _load_init(student: torch.nn.Module, init: torch.nn.Module) -> None:
    """Copy ``init``'s tensors into ``student`` (strict: same names and shapes), one-line error otherwise."""
    if not isinstance(init, torch.nn.Module):
        raise InputError(f"align: init must be a student network (torch.nn.Module), got {type(init).__name__}")
    want = student.state_dict()
    got = init.state_dict()
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    shaped = sorted(k for k in set(want) & set(got) if tuple(want[k].shape) != tuple(got[k].shape))
    if missing or extra or shaped:
        raise CheckpointError(
            "align: the init student does not fit the student these settings build (another backbone, "
            f"input channels, head or part list): missing {missing[:3]}, unexpected {extra[:3]}, "
            f"mis-shaped {shaped[:3]}; align the pre-aligned student with the same settings"
        )
    with torch.no_grad():
        student.load_state_dict({k: t.detach().clone() for k, t in got.items()}, strict=True)


# ----------------------------------------------------------------------------------- loop


def optimizer(student: Student, config: DistillConfig) -> Adam:
    """Adam over the student's trainable parameters (§4.6, lr ``config.lr``); a fine-tuned
    encoder (``config.encoder_lr_ratio > 0``) trains at ``lr * encoder_lr_ratio``."""
    ratio = float(config.encoder_lr_ratio)
    params = list(student.parameters())
    scales = None
    if ratio > 0:
        encoder = {id(p) for p in student.backbone.parameters()}
        scales = [ratio if id(p) in encoder else 1.0 for p in params]
    return training.build_optimizer("adam", params, lr=config.lr, scales=scales)


def align(
    knowledge: Sequence[ShapeKnowledge],
    part_names: Sequence[str],
    config: DistillConfig,
    *,
    regime: str = "pre",
    device: str | torch.device = "cpu",
    paths: AlignPaths | None = None,
    resume: bool = True,
    progress: bool = False,
    meta: dict[str, Any] | None = None,
    superpoints: Sequence[np.ndarray] | None = None,
    init: torch.nn.Module | None = None,
) -> AlignResult:
    """Train a student on ``knowledge`` with forward (+ backward) distillation — a fresh one, or
    one that starts from ``init``'s weights (pre-alignment followed by TTA, issue 16).

    Args:
        knowledge: non-empty teacher knowledge of the collection (``tta``: usually one shape).
        part_names: the C part names; every knowledge item must use the same list.
        config: settings (epochs, batches, augmentation, plateau rule, backward, seed).
        regime: ``"pre"`` or ``"tta"`` (epoch layout, see the module doc).
        device: torch device for the student.
        paths: when given, write the per-epoch JSON log, a loss-curve PNG, the resume state after
            every epoch, and the final student to ``paths.out`` (with ``meta`` in its header).
        resume: continue from ``paths.state`` if it exists and belongs to the same run
            (same knowledge and config); a state from another run raises CheckpointError.
        progress: show a tqdm bar over epochs.
        meta: extra JSON description stored in the checkpoint (category, teacher, collection).
        superpoints: per shape, (M,) int superpoint id of each knowledge point, for
            ``config.rescore_pool`` (ignored otherwise; without them that option re-scores
            point-wise and logs it).
        init: a student (e.g. a pre-aligned one, :func:`load_student`) whose weights the new
            student starts from; it must be the network ``config`` builds for these part names
            (same backbone, inputs and head), else CheckpointError. Not modified. The optimiser
            and the schedule start afresh; the run's fingerprint includes the weights.

    Returns:
        :class:`AlignResult` with the trained student (eval mode).

    Raises:
        InputError: empty collection, mismatched part lists, a shape without knowledge, bad regime.
        CheckpointError: a resume state from another run.
    """
    t_start = time.perf_counter()
    if regime not in ("pre", "tta"):
        raise InputError(f"align: expected regime 'pre' or 'tta', got {regime!r}")
    if not isinstance(config, DistillConfig):
        raise InputError(f"align: expected a DistillConfig, got {type(config).__name__}")
    names = tuple(part_names)
    knowledge = _check_knowledge(knowledge, names, config)
    sp_ids = _check_superpoints(superpoints, knowledge)
    if config.backward and config.rescore_pool and sp_ids is None:
        logger.info("distill: rescore_pool without superpoints for the knowledge points; re-scoring point-wise")
    dev = torch.device(device)
    n_epochs = config.epochs if regime == "pre" else config.tta_epochs
    latest = max(1, math.ceil(config.backward_latest * n_epochs))
    student = build_student(len(names), config, device=dev)
    if init is not None:
        _load_init(student, init)
    opt = optimizer(student, config)
    lr_min = config.lr * config.lr_min_ratio
    confs = [k.pred_conf.astype(np.float32) for k in knowledge]
    null_index = len(names) if (config.null_class and not config.balance_null) else None
    fp = _fingerprint(knowledge, config, regime, names, init)
    log: list[dict[str, Any]] = []
    losses: list[float] = []
    prev_avg: float | None = None
    backward_epoch: int | None = None
    pending_backward = False
    rescored: list[np.ndarray] | None = None
    rescore_labels: list[np.ndarray] | None = None
    start = 0
    if paths is not None and resume and paths.state.is_file():
        state = training.load_state(paths.state)
        training.check_same_run(state, fp, paths.state, "collection, teacher or settings")
        student.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        log = json.loads(state["log"])
        losses = [float(x) for x in state["losses"]]
        prev_avg = None if state["prev_avg"] < 0 else float(state["prev_avg"])
        backward_epoch = None if int(state["backward_epoch"]) < 0 else int(state["backward_epoch"])
        pending_backward = bool(state["pending_backward"])
        if state["rescored"]:
            rescored = [r.numpy().astype(np.float32) for r in state["rescored"]]
            confs = rescored
        start = int(state["epoch"]) + 1
        logger.info("distill: resuming %s at epoch %d of %d", paths.out, start, n_epochs)
    cache = feature_cache(student, knowledge, config, dev) if config.feature_cache else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_epochs, initial=start, desc=f"distill ({regime})", unit="epoch")
    for epoch in range(start, n_epochs):
        t0 = time.perf_counter()
        if config.backward and backward_epoch is None and (pending_backward or epoch >= latest):
            logits = knowledge_logits(student, knowledge, device=dev, seed=config.seed)
            if config.rescore_pool and sp_ids is not None:
                logits = [pool_logits(lg, sp) for lg, sp in zip(logits, sp_ids, strict=True)]
            rescored = [_rescored(lg, k, config) for lg, k in zip(logits, knowledge, strict=True)]
            rescore_labels = [lg[:, :len(names)].argmax(axis=1).astype(np.int64) for lg in logits]
            confs = rescored
            backward_epoch = epoch
            pending_backward = False
            logger.info("distill: backward re-scoring at epoch %d (mean κ′ %.3f)", epoch,
                        float(np.mean(np.concatenate(rescored))) if rescored else 0.0)
        rng = np.random.default_rng([config.seed, epoch])
        opt.lr = cosine_lr(epoch, n_epochs, config.lr, lr_min)
        student.train()
        total, steps = 0.0, 0
        for items in _epoch_batches(regime, len(knowledge), config, rng):
            if cache is None:
                batch = _make_batch(items, knowledge, confs, config, rng, dev)
                logits = student(batch.xyz, batch.inputs)
                pairs = (batch.pair_point, batch.pair_class, batch.pair_conf)
            else:
                feats, *pairs = _cached_batch(items, knowledge, confs, cache, config.n_points, rng)
                logits = student.head(feats)
            loss = forward_loss(logits.reshape(-1, logits.shape[-1]), *pairs, base=config.class_weight_base,
                                max_weight=config.class_weight_max, null_class=null_index)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            steps += 1
        lr = opt.lr
        epoch_loss = total / max(1, steps)
        losses.append(epoch_loss)
        avg, delta, plateau = plateau_update(losses, prev_avg, config)
        if config.backward and backward_epoch is None and plateau:
            pending_backward = True
        prev_avg = avg
        row = {
            "epoch": epoch,
            "mode": "backward" if backward_epoch is not None else "forward",
            "loss": round(epoch_loss, 6),
            "lr": lr,
            "moving_avg": round(avg, 6),
            "delta": None if delta is None else round(delta, 6),
            "plateau": bool(plateau),
            "steps": steps,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if backward_epoch == epoch and rescored is not None:
            all_r = np.concatenate(rescored)
            row["rescored_mean"] = round(float(all_r.mean()), 4) if all_r.size else None
        log.append(row)
        if bar is not None:
            bar.set_postfix(loss=f"{epoch_loss:.4f}", mode=row["mode"])
            bar.update(1)
        if paths is not None:
            _write_log(paths, log, meta, knowledge)
            _save_state(paths.state, {
                "fingerprint": fp, "model": student.state_dict(), "optimizer": opt.state_dict(),
                "log": json.dumps(log), "losses": losses,
                "prev_avg": -1.0 if prev_avg is None else prev_avg,
                "backward_epoch": -1 if backward_epoch is None else backward_epoch,
                "pending_backward": pending_backward, "epoch": epoch,
                "rescored": [torch.from_numpy(r) for r in rescored] if rescored is not None else [],
            })
    if bar is not None:
        bar.close()
    student.eval()
    result = AlignResult(student, log, backward_epoch, rescored, time.perf_counter() - t_start, start,
                         rescore_labels=rescore_labels)
    if paths is not None:
        full_meta = dict(meta or {})
        full_meta.update({
            "part_names": list(names), "backbone": config.backbone, "config": config.to_dict(),
            "regime": regime, "n_shapes": len(knowledge), "epochs": n_epochs,
            "backward_epoch": backward_epoch, "final_loss": log[-1]["loss"] if log else None,
        })
        result.meta = full_meta
        save_student(paths.out, student, full_meta)
        plot_curve(paths.curve, log, backward_epoch)
        paths.state.unlink(missing_ok=True)
    return result


# ----------------------------------------------------------------------------------- files


def _save_state(path: Path, state: dict[str, Any]) -> None:
    training.save_state(path, state)


def _write_log(paths: AlignPaths, log: list[dict[str, Any]], meta: dict[str, Any] | None,
               knowledge: Sequence[ShapeKnowledge]) -> None:
    from partlift.distill.knowledge import summarize

    training.write_log(paths.log, meta or {}, log, knowledge=summarize(knowledge))


def save_student(path: str | os.PathLike, student: Student, meta: dict[str, Any]) -> Path:
    """Write the student's weights as safetensors with ``meta`` (JSON) in the header, atomically.

    ``meta`` must hold ``part_names`` and ``config``; the backbone name and format version are added.
    """
    from partlift.config import json_ready

    for key in ("part_names", "config"):
        if key not in meta:
            raise InputError(f"save_student: meta must contain {key!r}")
    out = dict(json_ready(meta), backbone=student.backbone_name, n_parts=student.n_parts,
               format_version=FORMAT_VERSION, kind="partdistill-student")
    return training.save_weights(path, student, CHECKPOINT_KEY, out)


@dataclass(eq=False)
class LoadedStudent:
    """A student read back (eval mode) with its description."""

    student: Student
    config: DistillConfig
    meta: dict[str, Any]

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(self.meta["part_names"])


def load_student(
    path: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    part_names: Sequence[str] | None = None,
    backbone: str | None = None,
) -> LoadedStudent:
    """Read a student written by :func:`save_student` (strict: every tensor must fit).

    Args:
        part_names: when given, must equal the checkpoint's part list.
        backbone: when given, must equal the checkpoint's backbone.

    Raises:
        InputError: the file does not exist.
        CheckpointError: not a PartDistill student, another format, another backbone, a part list
            that does not match, or tensors that do not fit the described network.
    """
    from partlift.distill.backbones import list_backbones

    path = Path(path)
    meta, tensors = training.read_weights(
        path, CHECKPOINT_KEY, expected=f"a PartDistill student; make one with `partlift distill --out {path}`"
    )
    if meta is None:
        raise CheckpointError(
            f"{path} is not a PartDistill student (no {CHECKPOINT_KEY!r} header; a PartSTAD weight "
            "file goes to --weights); make one with `partlift distill`"
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: student format {meta.get('format_version')}, this partlift reads {FORMAT_VERSION}; re-run `partlift distill`")
    name = meta.get("backbone")
    if name not in list_backbones():
        raise CheckpointError(f"{path}: student backbone {name!r} is not registered here (known: {list_backbones()})")
    if backbone is not None and backbone != name:
        raise CheckpointError(f"{path} holds a {name!r} student, expected backbone {backbone!r}; re-run `partlift distill --backbone {backbone}` or drop the option")
    ckpt_parts = tuple(meta["part_names"])
    if part_names is not None and tuple(part_names) != ckpt_parts:
        raise CheckpointError(
            f"{path} was distilled for parts {list(ckpt_parts)} (category {meta.get('category')!r}) "
            f"but the parts asked for are {list(part_names)}; pass --parts {' '.join(ckpt_parts)} "
            "or distil a student for this part list"
        )
    raw_config = dict(meta["config"])
    # checkpoints written before the ``pool`` option labelled point-wise: they keep doing so
    raw_config.setdefault("pool", "none")
    try:
        config = config_from_dict(raw_config)
    except InputError as exc:
        raise CheckpointError(f"{path}: its settings do not load here ({exc})") from None
    if config.backbone != name:
        raise CheckpointError(f"{path}: header says backbone {name!r} but its settings say {config.backbone!r}; the file is inconsistent")
    student = Student(len(ckpt_parts), config)
    try:
        student.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(
            f"{path}: its tensors do not fit a {name!r} student "
            f"({first[0] if first else 'shape mismatch'}); the file comes from another backbone or version"
        ) from None
    student.to(device).eval()
    return LoadedStudent(student, config, meta)


def plot_curve(path: str | os.PathLike, log: Sequence[dict[str, Any]], backward_epoch: int | None = None) -> Path:
    """Loss per epoch (forward / backward marked) as a PNG (:func:`partlift.training.draw_curves`)."""
    marks = [] if backward_epoch is None else [(backward_epoch - 0.5, "backward re-scoring")]
    panel = training.Panel(
        x=[r["epoch"] for r in log],
        series=[training.Series([r["loss"] for r in log], "epoch loss"),
                training.Series([r["moving_avg"] for r in log], "moving average", ls=":")],
        ylabel="distillation loss", marks=marks,
    )
    return training.draw_curves(path, [panel], width=5)
