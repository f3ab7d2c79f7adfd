"""Training of the learned teacher (``partlift train-teacher``; DESIGN §3 "Teachers").

``train_teacher(categories, shapes_per_category, out, seed)`` renders generated shapes
(:mod:`partlift.teachers.learned.data`), trains :class:`~partlift.teachers.learned.network.PartUNet`
with Adam on a class-weighted cross-entropy (weights ``clip(sqrt(mean freq / freq), 0.25, 4)``
from the training targets; background pixels ignored; logits of classes the category does not
have are masked, so the softmax runs over "no part" and the category's parts), evaluates 2D mIoU
on held-out generated shapes (split ``"teacher-test"``, never seen in training) and writes:

* ``out`` — the teacher (:mod:`partlift.teachers.learned.checkpoint`, safetensors + JSON header);
* ``<stem>.state.pt`` — the resumable state (model, optimiser, step, loss log, fingerprint),
  replaced atomically every ``checkpoint_every`` steps; a run started again with the same
  settings continues from it (``resume=True``) and ends with the same weights as an
  uninterrupted run;
* ``<stem>.log.json`` and ``<stem>.loss.png`` — the loss per step and the evaluation.

Determinism: the network's initial weights come from ``torch.manual_seed(seed)``; the batch of
step ``s`` (indices and augmentation) from ``SeedSequence([seed, s])``; the training data from the
seed as described in :func:`~partlift.teachers.learned.data.render_examples`. On one device and
thread count, the same call gives the same file. Learning rate: linear warm-up over the first
5 % of the steps, then cosine decay to 5 % of ``lr``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from partlift.errors import CheckpointError, InputError
from partlift.teachers.learned.augment import augment_batch
from partlift.teachers.learned.checkpoint import Vocabulary, save_checkpoint
from partlift.teachers.learned.data import DataConfig, Examples, render_examples
from partlift.teachers.learned.evaluate import evaluate_examples
from partlift.teachers.learned.network import ModelConfig, PartUNet

__all__ = ["TrainPaths", "train_teacher", "class_weights", "plot_loss"]

log = logging.getLogger(__name__)

TRAIN_SPLIT = "teacher-train"
TEST_SPLIT = "teacher-test"


@dataclass(frozen=True)
class TrainPaths:
    out: Path
    state: Path
    log: Path
    curve: Path

    @classmethod
    def beside(cls, out: str | os.PathLike) -> TrainPaths:
        p = Path(out)
        if p.suffix != ".safetensors":
            raise InputError(f"train-teacher: --out must end in .safetensors, got {str(p)!r}")
        stem = p.name[: -len(".safetensors")]
        return cls(p, p.with_name(f"{stem}.state.pt"), p.with_name(f"{stem}.log.json"),
                   p.with_name(f"{stem}.loss.png"))


def class_weights(examples: Examples, n_classes: int) -> torch.Tensor:
    """(K,) float32 loss weights ``clip(sqrt(mean freq / freq), 0.25, 4)`` over the classes present
    in the targets (1 for absent classes)."""
    t = examples.target[examples.target >= 0].astype(np.int64)
    freq = np.bincount(t, minlength=n_classes).astype(np.float64)
    w = np.ones(n_classes)
    present = freq > 0
    if present.any():
        w[present] = np.clip(np.sqrt(freq[present].mean() / freq[present]), 0.25, 4.0)
    return torch.tensor(w, dtype=torch.float32)


def _lr_at(step: int, steps: int, lr: float) -> float:
    warm = max(1, int(0.05 * steps))
    if step < warm:
        return lr * (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t)))


def plot_loss(path: str | os.PathLike, losses: Sequence[float], title: str = "") -> Path:
    """Draw the training loss per step (and a running mean) into a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from partlift import atomic

    fig = Figure(figsize=(5, 3.2), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    y = np.asarray(losses, dtype=np.float64)
    ax.plot(np.arange(1, len(y) + 1), y, lw=0.5, alpha=0.5, label="loss")
    if len(y) >= 20:
        k = max(5, len(y) // 50)
        run = np.convolve(y, np.ones(k) / k, mode="valid")
        ax.plot(np.arange(k, len(y) + 1), run, lw=1.5, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return atomic.save_figure(path, fig)


def _check_categories(categories: Sequence[str]) -> list[str]:
    from partlift.data import synthetic

    if isinstance(categories, str) or not categories:
        raise InputError(f"train-teacher: categories must be a non-empty list such as ['Bucket', 'Bottle'], "
                         f"got {categories!r}")
    known = synthetic.list_categories()
    bad = [c for c in categories if c not in known]
    if bad:
        raise InputError(f"train-teacher: unknown categories {bad}; the generator knows {', '.join(known)}")
    return sorted(set(categories))


def train_teacher(
    categories: Sequence[str],
    shapes_per_category: int,
    out: str | os.PathLike,
    seed: int = 0,
    *,
    steps: int = 3000,
    batch_size: int = 8,
    lr: float = 2e-3,
    resolution: int = 192,
    width: int = 24,
    crop: int | None = None,
    extra_views: int = 4,
    eval_shapes: int = 3,
    device: str | torch.device = "cpu",
    resume: bool = True,
    checkpoint_every: int = 100,
    stop_after: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
    command: str | None = None,
    data_config: DataConfig | None = None,
) -> dict[str, Any]:
    """Train a learned teacher and write it to ``out`` (see the module doc).

    Args:
        categories: generator categories (e.g. ``["Bottle", "Bucket", "KitchenPot"]``).
        shapes_per_category: generated training shapes per category (each gives 10 +
            ``extra_views`` views).
        out: the ``.safetensors`` file to write.
        seed: seed of the data, the initial weights and every batch.
        steps: optimisation steps in total.
        batch_size: views per step.
        lr: Adam learning rate (peak of the schedule).
        resolution: working resolution R (multiple of 8).
        width: first-level channels w of the U-Net (and the feature dimension).
        crop: training crop size (multiple of 8; default ``R - R // 6`` rounded to 8).
        extra_views: random training views per shape beyond the 10 PartSLIP ones.
        eval_shapes: held-out generated shapes per category for the final 2D evaluation (0: skip).
        device: torch device for training.
        resume: continue from ``<stem>.state.pt`` when it exists and matches these settings.
        checkpoint_every: steps between state saves.
        stop_after: stop after this many steps in total, saving the state, without writing the
            teacher (an interruption; for tests and time-sliced runs).
        max_seconds: a wall-clock budget for the optimisation steps of this call: when it runs
            out, training ends early and the teacher is written with ``steps_done`` < ``steps``
            (recorded in the header; the learning-rate schedule is still the one for ``steps``).
            For budgeted demo runs; a reproducible run fixes ``steps`` instead.
        progress: show tqdm bars.
        command: the command line recorded in the header (default: the call's arguments).
        data_config: rendering / augmentation settings (default: ``DataConfig(resolution,
            extra_views)``).

    Returns:
        A summary dict: ``steps_done``, ``final_loss``, ``seconds``, ``eval`` (2D IoU report or
        None), ``out`` (None when stopped early), ``paths``.

    Raises:
        InputError: bad arguments. CheckpointError: the state file belongs to another run.
    """
    from partlift.data import synthetic
    from partlift.render import resolve_device

    cats = _check_categories(categories)
    for name, val, lo in (("shapes_per_category", shapes_per_category, 1), ("steps", steps, 1),
                          ("batch_size", batch_size, 1), ("checkpoint_every", checkpoint_every, 1),
                          ("eval_shapes", eval_shapes, 0), ("seed", seed, 0)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
            raise InputError(f"train-teacher: {name} must be an integer >= {lo}, got {val!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise InputError(f"train-teacher: lr must be > 0, got {lr!r}")
    if resolution % 8 or resolution < 16:
        raise InputError(f"train-teacher: resolution must be a multiple of 8 and >= 16, got {resolution}")
    crop = int(crop) if crop is not None else max(16, (resolution - resolution // 6) // 8 * 8)
    if crop % 8 or not 16 <= crop <= resolution:
        raise InputError(f"train-teacher: crop must be a multiple of 8 in [16, {resolution}], got {crop}")
    dev = resolve_device(device)
    paths = TrainPaths.beside(out)
    dcfg = data_config or DataConfig(resolution=resolution, extra_views=extra_views)
    if dcfg.resolution != resolution:
        raise InputError(f"train-teacher: data_config.resolution {dcfg.resolution} != resolution {resolution}")
    vocab = Vocabulary.from_parts({c: synthetic.category_parts(c) for c in cats})
    mcfg = ModelConfig(n_classes=len(vocab.classes), n_categories=len(vocab.categories), width=width,
                       resolution=resolution)
    settings = {
        "categories": cats, "shapes_per_category": int(shapes_per_category), "seed": int(seed),
        "steps": int(steps), "batch_size": int(batch_size), "lr": float(lr), "crop": crop,
        "model": mcfg.to_dict(), "data": dcfg.to_dict(), "eval_shapes": int(eval_shapes),
    }
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    command = command or "train_teacher(" + json.dumps(settings, sort_keys=True) + ")"

    t0 = time.perf_counter()
    train = render_examples(cats, int(shapes_per_category), vocab, dcfg, seed=int(seed), split=TRAIN_SPLIT,
                            progress=progress)
    render_seconds = time.perf_counter() - t0
    log.info("training data: %d views of %d shapes (%.1fs)", len(train), len(cats) * shapes_per_category,
             render_seconds)
    weights = class_weights(train, len(vocab.classes)).to(dev)
    class_mask = vocab.class_mask().to(dev)

    torch.manual_seed(int(seed))
    model = PartUNet(mcfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=float(lr))
    start, losses, seconds_before = 0, [], 0.0
    if resume and paths.state.is_file():
        state = torch.load(paths.state, map_location=dev, weights_only=True)
        if state.get("fingerprint") != fingerprint:
            raise CheckpointError(
                f"{paths.state} is the state of a different training run (other categories, seeds or "
                "settings); delete it or pass --no-resume to start over"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, losses = int(state["step"]), [float(v) for v in state["losses"]]
        seconds_before = float(state.get("seconds", 0.0))
        log.info("resuming from step %d of %d (%s)", start, steps, paths.state)

    end = int(steps) if stop_after is None else min(int(steps), int(stop_after))
    t_train = time.perf_counter()

    def save_state(step: int) -> None:
        from partlift.atomic import replacing

        state = {"fingerprint": fingerprint, "step": step, "model": model.state_dict(),
                 "optimizer": opt.state_dict(), "losses": torch.tensor(losses, dtype=torch.float64),
                 "seconds": seconds_before + time.perf_counter() - t_train}
        with replacing(paths.state, suffix=".pt") as tmp:
            torch.save(state, tmp)

    bar = None
    if progress and end > start:
        from tqdm import tqdm

        bar = tqdm(total=end - start, desc="train-teacher", unit="step")
    model.train()
    stopped_by_time = False
    for step in range(start, end):
        if max_seconds is not None and time.perf_counter() - t_train > float(max_seconds):
            stopped_by_time = True
            save_state(step)
            log.info("time budget of %.0fs used up after %d steps", float(max_seconds), step)
            break
        rng = np.random.default_rng([int(seed), step])
        idx = rng.integers(0, len(train), size=int(batch_size))
        x, t, c = train.inputs(idx)
        x, t = augment_batch(x, t, rng, crop)
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, int(steps), float(lr))
        logits, _ = model(x.to(dev), c.to(dev), class_mask)
        t = t.to(dev)
        if bool((t >= 0).any()):
            loss = F.cross_entropy(logits, t, weight=weights, ignore_index=-1)
        else:  # every pixel of the batch ignored (tiny crops): a zero step keeps the schedule
            loss = logits.sum() * 0.0
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if (step + 1) % max(1, checkpoint_every // 4) == 0:
            log.info("step %d/%d loss %.4f", step + 1, steps, float(np.mean(losses[-25:])))
        if (step + 1) % int(checkpoint_every) == 0 or step + 1 == end:
            save_state(step + 1)
    if bar is not None:
        bar.close()
    seconds = seconds_before + time.perf_counter() - t_train
    summary: dict[str, Any] = {
        "steps_done": len(losses), "final_loss": float(np.mean(losses[-25:])) if losses else None,
        "seconds_training": seconds, "eval": None, "out": None,
        "paths": {k: str(v) for k, v in vars(paths).items()},
    }
    if end > start or not paths.curve.is_file():
        if losses:
            plot_loss(paths.curve, losses, title=f"learned teacher: {', '.join(cats)}")
    if end < int(steps) and not stopped_by_time:
        _write_log(paths, settings, losses, summary)
        return summary

    if eval_shapes:
        held = render_examples(cats, int(eval_shapes), vocab, dataclasses.replace(dcfg, augment=False),
                               seed=int(seed), split=TEST_SPLIT, progress=progress)
        summary["eval"] = evaluate_examples(model, vocab, held, device=dev)
        summary["eval"]["views"] = len(held)
    header = {
        "render": {**dcfg.to_dict(), "inference": "any preset; views are resampled to the working resolution"},
        "data": {"generator": "partlift.data.synthetic", "seed": int(seed), "train_split": TRAIN_SPLIT,
                 "test_split": TEST_SPLIT, "shapes_per_category": int(shapes_per_category),
                 "train_views": len(train), "eval_shapes_per_category": int(eval_shapes),
                 "render_seconds": round(render_seconds, 1)},
        "training": {"steps": int(steps), "batch_size": int(batch_size), "lr": float(lr), "crop": crop,
                     "optimizer": "Adam", "seed": int(seed), "device": str(dev),
                     "threads": torch.get_num_threads(), "seconds": round(seconds, 1),
                     "final_loss": summary["final_loss"], "command": command,
                     "steps_done": len(losses), "stopped_by_time_budget": stopped_by_time,
                     "host": platform.machine(), "torch": torch.__version__},
        "eval_2d_heldout_generated": summary["eval"],
    }
    model.eval()
    save_checkpoint(paths.out, model, vocab, header)
    summary["out"] = str(paths.out)
    _write_log(paths, settings, losses, summary)
    log.info("wrote %s (%d steps, %.0fs)", paths.out, len(losses), seconds)
    return summary


def _write_log(paths: TrainPaths, settings: dict[str, Any], losses: list[float], summary: dict[str, Any]) -> None:
    from partlift.atomic import write_json

    write_json(paths.log, {"settings": settings, "summary": summary, "loss": losses})
