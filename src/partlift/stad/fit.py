"""Where PartSTAD fits: training per category (METHODS §3.6), model selection, resume, log.

Protocol (defaults of :class:`~partlift.stad.config.StadConfig`): AdamW lr 1e-4 for the weight
net and 0.05 for the null score (weight decay 0.01 each), batches of 2 shuffled shapes (the loss
is the mean of the shapes' mRIoU losses), 400 epochs, seeded. After every epoch the mean per-shape
mIoU of the thresholded labels (§3.7) is measured on a **validation split**, and the epoch with the
best value is kept (§3.6 ``get_best_ckpt``; the first one on ties). Unlike the released code the
validation shapes must not be test shapes (:func:`check_splits`); without validation shapes the
last epoch is kept, with a warning.

Files, for an output ``weights.safetensors``:

* ``weights.safetensors`` — the selected weights; metadata key ``"partlift.stad"`` holds JSON with
  the category, part names, teacher, feature dimension, input dimension, config and selection;
* ``weights.log.json`` — one record per epoch (loss, validation mIoU, null score, mean weight);
* ``weights.curve.png`` — the training curve;
* ``weights.state.pt`` — the resumable training state (``torch.load(weights_only=True)``), kept
  until the run finishes; a rerun with the same inputs continues from its epoch.

Optimisers, files, resume state, log and curve go through :mod:`partlift.training`, as
PartDistill's alignment does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from partlift import training
from partlift.errors import InputError
from partlift.lifting.voting import VoteConfig, label_superpoints
from partlift.stad.checkpoint import (
    CHECKPOINT_KEY,
    FORMAT_VERSION,
    LoadedCheckpoint,
    check_compatible,
    load_checkpoint,
    save_checkpoint,
    teacher_identity,
)
from partlift.stad.config import INFERENCE_THRESHOLD, StadConfig
from partlift.stad.data import ShapeTensors
from partlift.stad.loss import mriou_loss
from partlift.stad.net import StadModel
from partlift.stad.voting import probabilities, weighted_scores

# The checkpoint names (CHECKPOINT_KEY ... teacher_identity) are re-exported for importers of their
# old place (stad/method.py, distill/knowledge.py); new code imports partlift.stad.checkpoint.
__all__ = [
    "CHECKPOINT_KEY",
    "FORMAT_VERSION",
    "FitPaths",
    "FitResult",
    "LoadedCheckpoint",
    "check_splits",
    "prepare_shapes",
    "fit_category",
    "forward",
    "label_valid",
    "shape_miou",
    "evaluate",
    "save_checkpoint",
    "load_checkpoint",
    "check_compatible",
    "teacher_identity",
    "plot_curve",
]

logger = logging.getLogger(__name__)

MIN_TRAIN_SHAPES = 2
"""Fewer usable training shapes than this are refused (one batch of 2, §3.6)."""


# --------------------------------------------------------------------------------- model use


def forward(model: StadModel, st: ShapeTensors) -> torch.Tensor:
    """(K, C + 1) probabilities ``softmax([null, S])`` of ``st``'s valid superpoints."""
    return probabilities(weighted_scores(st, model.weights(st.inputs)), model.null())


def label_valid(probs: torch.Tensor, st: ShapeTensors, vote_config: VoteConfig) -> np.ndarray:
    """(K,) int64 labels of the valid superpoints from (K, C + 1) probabilities (§3.7).

    :func:`partlift.lifting.voting.label_superpoints` on the part probabilities with threshold
    ``0.5 - 1e-4`` and the vote config's small-part priority.
    """
    cfg = _inference_vote_config(vote_config)
    parts = probs[:, 1:].detach().to("cpu", torch.float64).numpy()
    return label_superpoints(parts, st.part_names, cfg, relative_size=st.relative_size)


def _inference_vote_config(vote_config: VoteConfig) -> VoteConfig:
    from dataclasses import replace

    return replace(vote_config, vote_threshold=INFERENCE_THRESHOLD)


def shape_miou(labels: np.ndarray, st: ShapeTensors) -> float:
    """PartNet-E mIoU (§1.6.1) of one labelled shape from superpoint labels, exact per point.

    ``labels`` (K,) are the valid superpoints' labels; invalid superpoints are -1. NaN when the
    shape's GT holds no part.
    """
    if st.gt_counts is None or st.gt_total is None:
        raise InputError(f"{st.name}: no GT; shape_miou needs tensors built with gt labels")
    c = st.n_parts
    counts = st.gt_counts.detach().cpu().numpy().astype(np.float64)
    n = st.n_points.detach().cpu().numpy().astype(np.float64)
    total = st.gt_total.detach().cpu().numpy().astype(np.float64)
    ok = labels >= 0
    inter = np.zeros(c)
    pred = np.zeros(c)
    np.add.at(inter, labels[ok], counts[np.flatnonzero(ok), labels[ok]])
    np.add.at(pred, labels[ok], n[ok])
    present = total > 0
    if not present.any():
        return math.nan
    iou = inter[present] / (pred[present] + total[present] - inter[present])
    return float(iou.mean())


def evaluate(model: StadModel, shapes: Sequence[ShapeTensors], vote_config: VoteConfig) -> float:
    """Mean over ``shapes`` of the per-shape mIoU of the thresholded labels (§3.6 selection)."""
    values = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for st in shapes:
                value = shape_miou(label_valid(forward(model, st), st, vote_config), st)
                if not math.isnan(value):
                    values.append(value)
    finally:
        model.train(was_training)
    return float(np.mean(values)) if values else math.nan


# --------------------------------------------------------------------------------- splits


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def check_splits(
    train: Sequence[str], val: Sequence[str], test: Sequence[str] | None = None
) -> None:
    """Refuse a validation split that overlaps the test shapes; warn about training overlaps.

    Names compare in full (``"Chair/123"``) and by their last component (``"123"``), so test ids
    may be given with or without the category.

    Raises:
        InputError: a validation shape is also a test shape (model selection on the test split,
            which the released code does, §3.11.6).
    """
    test = list(test or [])
    keys_test = {t for t in test} | {_short(t) for t in test}
    bad = [v for v in val if v in keys_test or _short(v) in keys_test]
    if bad:
        raise InputError(
            f"the validation split overlaps the test shapes ({len(bad)} shared, e.g. {bad[:3]}); "
            "model selection must not see test shapes — pick validation shapes outside the test "
            "split (e.g. --val synthetic:8 or a separate folder)"
        )
    keys_train = {t for t in train} | {_short(t) for t in train}
    for other, what in ((val, "validation"), (test, "test")):
        shared = [v for v in other if v in keys_train or _short(v) in keys_train]
        if shared:
            logger.warning("%d training shape(s) are also %s shapes, e.g. %s", len(shared), what, shared[:3])


def prepare_shapes(
    source: Any,
    shapes: Sequence[Any],
    part_names: Sequence[str],
    config: StadConfig,
    *,
    role: str = "training",
    progress: Callable[[str], None] | None = None,
    vote_config: VoteConfig | None = None,
) -> list[ShapeTensors]:
    """Render, over-segment and predict each labelled shape once, and build its tensors.

    A shape whose GT has no point of ``part_names``, on which the teacher predicts nothing, or
    that has no superpoint covered by a prediction, is skipped with a warning naming it.

    Args:
        source: what prepares and predicts: a :class:`~partlift.prepare.Preparation` or a
            :class:`~partlift.pipeline.Segmenter` (anything with ``prepare(shape)``,
            ``predictions_for(prepared, names)``, ``teacher`` and ``device``).
        shapes: labelled :class:`~partlift.types.Shape` objects (or an iterable producing them).
        part_names: the category's part names, in label order.
        config: which region votes (``masks``) and PartSTAD's vote rules.
        role: "training" or "validation", for messages.
        progress: called with each shape's name once it is prepared.
        vote_config: the run's vote settings (default: ``source.vote_config`` when it has one,
            else :class:`~partlift.lifting.voting.VoteConfig` defaults).
    """
    from partlift.stad.data import _labels_for, from_prepared

    names = tuple(part_names)
    if vote_config is None:
        vote_config = getattr(source, "vote_config", None)
    out = []
    for shape in shapes:
        if shape.semantic is None or shape.part_names is None:
            logger.warning("skipping %s shape %s: it has no GT labels", role, shape.name)
            continue
        gt = _labels_for(shape.semantic, tuple(shape.part_names), names, shape.name)
        if not (gt >= 0).any():
            logger.warning("skipping %s shape %s: no point is labelled with any of %s", role,
                           shape.name, list(names))
            continue
        prepared = source.prepare(shape)
        preds = source.predictions_for(prepared, names)
        if len(preds) == 0:
            logger.warning("skipping %s shape %s: the teacher %s predicted no part", role,
                           shape.name, source.teacher.name)
            continue
        st = from_prepared(prepared, preds, config, vote_config=vote_config,
                           device=source.device, with_gt=True)
        if st.n_valid == 0:
            logger.warning("skipping %s shape %s: no superpoint is covered by a prediction", role, shape.name)
            continue
        out.append(st)
        if progress is not None:
            progress(shape.name)
    return out


# --------------------------------------------------------------------------------- results


class FitPaths(training.RunPaths):
    """Files of one training run, derived from the weights path (see the module docstring and
    :class:`partlift.training.RunPaths`); ``weights`` is the output."""

    @classmethod
    def for_weights(cls, path: str | os.PathLike) -> FitPaths:
        return cls(Path(path))

    @property
    def weights(self) -> Path:
        return self.out


@dataclass(eq=False)
class FitResult:
    """A finished (or stopped) training run.

    Attributes:
        model: the selected model (best validation epoch), in eval mode.
        best_epoch: 1-based epoch of the selected weights.
        best_val_miou: its validation mIoU (NaN without validation shapes).
        log: one dict per epoch: epoch, loss, val_miou, null, mean_weight, seconds.
        seconds: training wall time of this call (a resumed run counts only its own part).
        epochs_done: epochs completed in total (including resumed ones).
        meta: the checkpoint description (see :func:`save_checkpoint`).
    """

    model: StadModel
    best_epoch: int
    best_val_miou: float
    log: list[dict[str, Any]]
    seconds: float
    epochs_done: int
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------- training


def _check_shapes(shapes: Sequence[ShapeTensors], what: str) -> list[ShapeTensors]:
    shapes = list(shapes)
    for st in shapes:
        if not isinstance(st, ShapeTensors):
            raise InputError(f"{what}: expected ShapeTensors (see partlift.stad.data), got {type(st).__name__}")
        if not st.has_gt:
            raise InputError(f"{what}: shape {st.name} has no GT labels")
    return shapes


def _fingerprint(train: Sequence[ShapeTensors], val: Sequence[ShapeTensors], config: StadConfig,
                 meta: dict[str, Any]) -> str:
    """Hash of everything a resumed run must share with the interrupted one."""
    h = hashlib.sha256()
    h.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    h.update(json.dumps({k: meta.get(k) for k in ("category", "part_names", "teacher")}, sort_keys=True).encode())
    for role, shapes in (("train", train), ("val", val)):
        h.update(role.encode())
        for st in shapes:
            h.update(st.name.encode())
            h.update(st.inputs.detach().cpu().numpy().tobytes())
            h.update(st.group_count.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def _state_dict_copy(model: StadModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _json_float(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def fit_category(
    train: Sequence[ShapeTensors],
    val: Sequence[ShapeTensors],
    config: StadConfig,
    *,
    meta: dict[str, Any],
    vote_config: VoteConfig | None = None,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    resume: bool = True,
    progress: Callable[[dict[str, Any]], None] | None = None,
    stop_after: int | None = None,
    num_threads: int | None = 1,
) -> FitResult:
    """Train one category's weight net and null score, select an epoch, optionally save.

    Args:
        train: >= 2 labelled training shapes (:func:`partlift.stad.data.shape_tensors`).
        val: labelled validation shapes (may be empty: last-epoch selection, with a warning).
        config: network and training settings.
        meta: checkpoint description: at least ``category``, ``part_names``, ``teacher`` and
            ``feature_dim`` (more keys are kept).
        vote_config: small-part priority settings for the validation labels.
        device: where to train (the shapes are moved there).
        out: weights path; when given, the log, curve, resumable state and the checkpoint are
            written next to it (:class:`FitPaths`).
        resume: continue from ``out``'s state file when it exists and matches these inputs.
        progress: called with each epoch's log record.
        stop_after: stop after this many epochs in total (state saved; for tests / interrupts).
        num_threads: torch intra-op threads while training (restored afterwards); None keeps
            the current setting. The tensors are small (a few thousand groups), so one thread
            is fastest: measured 10x faster than 2 threads on the 2-core CPU under load.

    Returns:
        :class:`FitResult` with the selected model.

    Raises:
        InputError: fewer than 2 training shapes, mismatched part lists or feature sizes.
        CheckpointError: the state file belongs to a different run.
    """
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    try:
        return _fit(train, val, config, meta=meta, vote_config=vote_config, device=device, out=out,
                    resume=resume, progress=progress, stop_after=stop_after)
    finally:
        torch.set_num_threads(previous)


def _fit(
    train: Sequence[ShapeTensors],
    val: Sequence[ShapeTensors],
    config: StadConfig,
    *,
    meta: dict[str, Any],
    vote_config: VoteConfig | None,
    device: str | torch.device,
    out: str | os.PathLike | None,
    resume: bool,
    progress: Callable[[dict[str, Any]], None] | None,
    stop_after: int | None,
) -> FitResult:
    vote_config = vote_config or VoteConfig()
    train = _check_shapes(train, "training shapes")
    val = _check_shapes(val, "validation shapes")
    if len(train) < MIN_TRAIN_SHAPES:
        raise InputError(
            f"PartSTAD needs at least {MIN_TRAIN_SHAPES} usable training shapes, got {len(train)}"
            + (f" ({[s.name for s in train]})" if train else "")
            + "; give more labelled shapes with teacher predictions"
        )
    for key in ("category", "part_names", "teacher", "feature_dim"):
        if key not in meta:
            raise InputError(f"fit_category: meta must contain {key!r}")
    names = tuple(meta["part_names"])
    in_dims = {int(st.inputs.shape[1]) for st in train + val}
    for st in train + val:
        if st.part_names != names:
            raise InputError(f"{st.name}: part names {list(st.part_names)} differ from {list(names)}")
    if len(in_dims) != 1:
        raise InputError(f"training shapes have different input sizes {sorted(in_dims)}; use one teacher")
    in_dim = in_dims.pop()
    train = [st.to(device) for st in train]
    val = [st.to(device) for st in val]
    if not val:
        logger.warning("no validation shapes: keeping the last epoch's weights (no model selection)")

    paths = FitPaths.for_weights(out) if out is not None else None
    meta = dict(meta)
    meta.update(format_version=FORMAT_VERSION, in_dim=in_dim, config=config.to_dict(),
                train_shapes=[s.name for s in train], val_shapes=[s.name for s in val])
    fingerprint = _fingerprint(train, val, config, meta)

    torch.manual_seed(config.seed)
    init_gen = torch.Generator().manual_seed(config.seed)
    shuffle_gen = torch.Generator().manual_seed(config.seed + 1)
    model = StadModel(in_dim, config, generator=init_gen).to(device)
    opt_net = training.build_optimizer("adamw", model.net.parameters(), lr=config.lr,
                                       weight_decay=config.weight_decay)
    opt_null = training.build_optimizer("adamw", [model.null_score], lr=config.null_lr,
                                        weight_decay=config.weight_decay)
    log: list[dict[str, Any]] = []
    best_state = _state_dict_copy(model)
    best_epoch, best_val = 0, -math.inf
    start = 0

    if paths is not None and resume and paths.state.is_file():
        state = training.load_state(paths.state, map_location=device)
        training.check_same_run(state, fingerprint, paths.state, "shapes, teacher or settings")
        model.load_state_dict(state["model"])
        opt_net.load_state_dict(state["opt_net"])
        opt_null.load_state_dict(state["opt_null"])
        shuffle_gen.set_state(state["shuffle_gen"].cpu())
        best_state = state["best_state"]
        best_epoch, best_val = int(state["best_epoch"]), float(state["best_val"])
        log = list(json.loads(state["log"]))
        start = int(state["epoch"])
        logger.info("resuming %s from epoch %d of %d", paths.weights, start, config.epochs)

    def save_state(epoch: int) -> None:
        if paths is None:
            return
        training.save_state(
            paths.state,
            {
                "fingerprint": fingerprint,
                "epoch": epoch,
                "model": model.state_dict(),
                "opt_net": opt_net.state_dict(),
                "opt_null": opt_null.state_dict(),
                "shuffle_gen": shuffle_gen.get_state(),
                "best_state": best_state,
                "best_epoch": best_epoch,
                "best_val": best_val,
                "log": json.dumps(log),
            },
        )
        training.write_log(paths.log, _json_meta(meta), log)

    t_start = time.perf_counter()
    end = config.epochs if stop_after is None else min(config.epochs, int(stop_after))
    model.train()
    for epoch in range(start, end):
        t0 = time.perf_counter()
        perm = torch.randperm(len(train), generator=shuffle_gen).tolist()
        losses = []
        for i in range(0, len(perm), config.batch_size):
            batch = [train[j] for j in perm[i : i + config.batch_size]]
            loss = torch.stack([mriou_loss(forward(model, st), st.gt, st.n_points) for st in batch]).mean()
            opt_net.zero_grad(set_to_none=True)
            opt_null.zero_grad(set_to_none=True)
            loss.backward()
            if config.weights:
                opt_net.step()
            opt_null.step()
            losses.append(float(loss.detach()))
        val_miou = evaluate(model, val, vote_config) if val else math.nan
        with torch.no_grad():
            w = torch.cat([model.weights(st.inputs) for st in train])
        record = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            "val_miou": _json_float(val_miou),
            "null": float(model.null().detach()),
            "mean_weight": float(w.mean()) if w.numel() else None,
            "seconds": round(time.perf_counter() - t0, 4),
        }
        log.append(record)
        score = val_miou if val else float(epoch)
        if not math.isnan(score) and score > best_val:
            best_val, best_epoch = score, epoch + 1
            best_state = _state_dict_copy(model)
        if progress is not None:
            progress(record)
        done = epoch + 1
        if done % config.checkpoint_every == 0 or done == end:
            save_state(done)
    seconds = time.perf_counter() - t_start
    epochs_done = max(start, end)

    if not val:
        best_state, best_epoch = _state_dict_copy(model), epochs_done
    final = copy.deepcopy(model)
    final.load_state_dict(best_state)
    final.eval()
    best_val_out = best_val if val else math.nan
    meta.update(best_epoch=best_epoch, best_val_miou=_json_float(best_val_out), epochs_done=epochs_done,
                selection="best validation mIoU" if val else "last epoch (no validation shapes)")
    result = FitResult(final, best_epoch, best_val_out, log, seconds, epochs_done, meta)
    if paths is not None:
        training.write_log(paths.log, _json_meta(meta), log)
        if epochs_done >= config.epochs:
            save_checkpoint(paths.weights, final, meta)
            try:
                plot_curve(paths.curve, log, best_epoch)
            except Exception as exc:  # plotting must never lose a finished training run
                logger.warning("could not draw the training curve %s: %s", paths.curve, exc)
            paths.state.unlink(missing_ok=True)
    logger.info("fit %s: %d epochs in %.1fs, best epoch %d (val mIoU %s)", meta["category"],
                epochs_done, seconds, best_epoch, _json_float(best_val_out))
    return result


def _json_meta(meta: dict[str, Any]) -> dict[str, Any]:
    from partlift.config import json_ready

    return json_ready(meta)


# --------------------------------------------------------------------------------- curve


def plot_curve(path: str | os.PathLike, log: Sequence[dict[str, Any]], best_epoch: int | None = None) -> Path:
    """Loss and validation mIoU per epoch as a PNG (:func:`partlift.training.draw_curves`)."""
    epochs = [r["epoch"] for r in log]
    vals = [np.nan if r.get("val_miou") is None else 100 * r["val_miou"] for r in log]
    return training.draw_curves(path, [
        training.Panel(epochs, [training.Series([r["loss"] for r in log])], ylabel="mRIoU loss (train)"),
        training.Panel(epochs, [training.Series(vals, color="tab:green")], ylabel="validation mIoU",
                       marks=[(best_epoch, None)] if best_epoch else []),
    ], width=7)
