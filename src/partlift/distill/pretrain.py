"""Self-supervised pre-training of the Point-M2AE student encoder (``partlift pretrain``).

The objective is Point-M2AE's own multi-scale masked autoencoding
(:mod:`partlift.distill.point_m2ae_mae`), so the weights drop into the ``point-m2ae`` backbone
exactly like the official checkpoint (same encoder, same tensors, METHODS §4.3) and the official
recipe is the reference for every setting (:class:`PretrainConfig`).

Corpus (:func:`load_corpus`): sources as ``partlift distill --collection`` takes them —
``synthetic:CAT:N[:SPLIT[:SEED]]``, ``synthetic:all:N[:SPLIT[:SEED]]`` (N generated shapes of
*every* generator category) and folders of shape files or PartNet-E roots. Each shape is
normalised to the student frame (bounding-box centre, unit sphere, METHODS §1.1) and kept as a
pool of ``pool_points`` points; every step draws ``points`` (2048) of them per item.

Training (:func:`pretrain`): AdamW, cosine schedule with linear warm-up (per epoch), scale and
translation augmentation, one torch generator per step seeded from ``(seed, epoch, step)`` —
the run is a function of the corpus and the config, and an interrupted run resumed from its
last finished epoch ends with the same weights as an uninterrupted one (on the same device).
Files next to ``out`` (``enc.safetensors``): ``enc.state.pt`` (resume state, written atomically
after every epoch, removed at the end), ``enc.log.json`` (per-epoch loss, lr, seconds),
``enc.curve.png`` (loss curve) and the encoder itself (:func:`save_point_m2ae`: safetensors with
a JSON header holding the corpus, config, epochs, time, device and final loss).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from partlift import atomic
from partlift.config import from_dict, to_dict
from partlift.errors import CheckpointError, InputError

__all__ = [
    "PretrainConfig",
    "PretrainPaths",
    "PretrainResult",
    "expand_sources",
    "load_corpus",
    "pretrain",
]

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class PretrainConfig:
    """Settings of ``partlift pretrain`` (official ``cfgs/pre-training/point-m2ae.yaml`` unless said).

    Attributes:
        epochs: passes over the corpus (official: 300 on ShapeNet-55; ours: whatever fits the budget).
        batch_size: clouds per step (official: 128 over GPUs; ours 8 for a CPU).
        lr: AdamW peak learning rate (official 0.001).
        weight_decay: AdamW weight decay (official 0.05; none on biases, 1-D tensors and the mask token).
        warmup_epochs: linear warm-up from ``lr_min`` (official 10 of 300; ours default 1).
        lr_min: floor of the cosine schedule and start of the warm-up (official 1e-6).
        mask_ratio: fraction of stage-3 tokens masked (official 0.8).
        points: points per cloud and step (official 2048).
        pool_points: points kept per corpus shape, of which each step draws ``points`` (official:
            ShapeNet-55's 8192 per shape).
        scale_range: anisotropic scale U[lo, hi]³ per cloud (official ``PointcloudScaleAndTranslate``: 2/3, 3/2).
        translate: translation U[-t, t]³ per cloud (official 0.2).
        time_limit_s: stop after the epoch during which this many seconds of training have passed
            (ours; None = run every epoch). A stopped run writes its encoder and can be continued.
        seed: seeds the draws, augmentation, masks, drop-path and the initial weights.
    """

    epochs: int = 20
    batch_size: int = 8
    lr: float = 0.001
    weight_decay: float = 0.05
    warmup_epochs: int = 1
    lr_min: float = 1e-6
    mask_ratio: float = 0.8
    points: int = 2048
    pool_points: int = 8192
    scale_range: tuple[float, float] = (2.0 / 3.0, 1.5)
    translate: float = 0.2
    time_limit_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "points", "pool_points"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"PretrainConfig.{name}: expected a positive integer, got {v!r}")
        if self.points < 512:
            raise InputError(f"PretrainConfig.points: expected >= 512 (the stage-1 centres), got {self.points}")
        if self.pool_points < self.points:
            raise InputError(f"PretrainConfig.pool_points: expected >= points ({self.points}), got {self.pool_points}")
        if not (self.lr > 0 and 0 < self.lr_min <= self.lr and self.weight_decay >= 0 and self.translate >= 0):
            raise InputError("PretrainConfig: expected lr > 0, 0 < lr_min <= lr, weight_decay >= 0, translate >= 0, "
                             f"got lr={self.lr}, lr_min={self.lr_min}, weight_decay={self.weight_decay}, translate={self.translate}")
        if not 0 <= self.mask_ratio < 1:
            raise InputError(f"PretrainConfig.mask_ratio: expected in [0, 1), got {self.mask_ratio}")
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise InputError(f"PretrainConfig.warmup_epochs: expected an integer >= 0, got {self.warmup_epochs!r}")
        lo, hi = self.scale_range
        if not 0 < lo <= hi:
            raise InputError(f"PretrainConfig.scale_range: expected 0 < lo <= hi, got {self.scale_range}")
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise InputError(f"PretrainConfig.time_limit_s: expected > 0 or None, got {self.time_limit_s}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"PretrainConfig.seed: expected a non-negative integer, got {self.seed!r}")

    def replace(self, **changes: Any) -> PretrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> PretrainConfig:
        return from_dict(PretrainConfig, data)


@dataclass(frozen=True)
class PretrainPaths:
    """The files of one run, next to ``out``: state, log, curve."""

    out: Path
    state: Path
    log: Path
    curve: Path

    @staticmethod
    def for_output(out: str | os.PathLike) -> PretrainPaths:
        out = Path(out)
        stem = out.with_suffix("") if out.suffix == ".safetensors" else out
        return PretrainPaths(out, stem.with_name(stem.name + ".state.pt"), stem.with_name(stem.name + ".log.json"),
                             stem.with_name(stem.name + ".curve.png"))


@dataclass(eq=False)
class PretrainResult:
    """What :func:`pretrain` returns: the encoder (eval mode), the per-epoch log, timings."""

    encoder: Any
    log: list[dict[str, Any]]
    seconds: float
    resumed_from: int
    stopped_early: bool
    meta: dict[str, Any]


# ----------------------------------------------------------------------------------- corpus


def expand_sources(specs: Sequence[str]) -> list[str]:
    """``synthetic:all:N[:SPLIT[:SEED]]`` expanded to one ``synthetic:CAT:N…`` per generator
    category (sorted); other specs unchanged. Parsed by the one source grammar
    (:func:`partlift.sources.parse_source`), where ``all`` is a category name."""
    from partlift.data.synthetic import list_categories
    from partlift.sources import parse_source

    out: list[str] = []
    for spec in specs:
        if not isinstance(spec, str):
            raise InputError(f"pretrain corpus: expected source strings, got {spec!r}")
        if spec.strip().startswith("synthetic:all"):
            src = parse_source(spec, "pretrain corpus", allow=("synthetic-category",))
            rest = "".join(f":{x}" for x in (src.split, src.seed) if x is not None)
            out += [f"synthetic:{cat}:{src.count}{rest}" for cat in list_categories()]
        else:
            out.append(spec)
    return out


def load_corpus(specs: Sequence[str], *, pool_points: int = 8192, seed: int = 0,
                progress: bool = False) -> tuple[np.ndarray, list[str]]:
    """The corpus as ``(clouds (S, pool_points, 3) float32 in the student frame, shape names)``.

    Generated shapes are sampled with ``pool_points`` points; a file shape is sub-sampled (or
    tiled) to ``pool_points`` with a generator seeded by ``seed`` and its index.

    Raises:
        InputError: no sources, a malformed source, or a corpus without shapes.
    """
    from partlift.distill.collection import iter_source, parse_source
    from partlift.distill.student import student_frame, subsample

    if not specs:
        raise InputError("pretrain: expected at least one corpus source (synthetic:all:N, synthetic:CAT:N or a folder)")
    sources = [parse_source(s) for s in expand_sources(specs)]
    clouds, names = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="corpus", unit="shape")
    for src in sources:
        for shape in iter_source(src, n_points=pool_points):
            xyz = student_frame(np.asarray(shape.xyz, np.float32))
            if len(xyz) != pool_points:
                xyz = xyz[subsample(len(xyz), pool_points, np.random.default_rng([seed, len(names)]))]
            clouds.append(xyz.astype(np.float32))
            names.append(shape.name)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if not clouds:
        raise InputError(f"pretrain: the corpus {list(specs)} holds no shapes")
    return np.stack(clouds), names


# ----------------------------------------------------------------------------------- loop


def _lr(epoch: int, config: PretrainConfig) -> float:
    """Linear warm-up from lr_min over ``warmup_epochs``, then cosine to lr_min (timm CosineLRScheduler)."""
    if epoch < config.warmup_epochs:
        return config.lr_min + (config.lr - config.lr_min) * epoch / config.warmup_epochs
    span = max(1, config.epochs - config.warmup_epochs)
    t = (epoch - config.warmup_epochs) / span
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1 + math.cos(math.pi * t))


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(".bias") or "token" in name else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def _batch(clouds: np.ndarray, items: np.ndarray, config: PretrainConfig, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((len(items), config.points, 3), np.float32)
    lo, hi = config.scale_range
    for j, i in enumerate(items):
        pick = rng.choice(clouds.shape[1], size=config.points, replace=False)
        scale = rng.uniform(lo, hi, size=3).astype(np.float32)
        shift = rng.uniform(-config.translate, config.translate, size=3).astype(np.float32)
        out[j] = clouds[i][pick] * scale + shift
    return out


def _fingerprint(clouds: np.ndarray, config: PretrainConfig) -> str:
    h = hashlib.sha256()
    cfg = {k: v for k, v in config.to_dict().items() if k != "time_limit_s"}
    h.update(json.dumps(cfg, sort_keys=True).encode())
    h.update(np.ascontiguousarray(clouds).tobytes())
    return h.hexdigest()


def pretrain(
    clouds: np.ndarray,
    config: PretrainConfig,
    *,
    device: str | torch.device = "cpu",
    paths: PretrainPaths | None = None,
    resume: bool = True,
    progress: bool = False,
    meta: dict[str, Any] | None = None,
    storage_dtype: str = "float32",
) -> PretrainResult:
    """Pre-train a Point-M2AE encoder on ``clouds`` with masked autoencoding (see the module doc).

    Args:
        clouds: (S, pool_points, 3) float32 corpus in the student frame (:func:`load_corpus`).
        config: :class:`PretrainConfig`.
        device: torch device of the model.
        paths: when given, write the resume state after every epoch, the log, the curve and the
            encoder (``paths.out``, with ``meta`` in its header).
        resume: continue from ``paths.state`` when it belongs to this corpus and config.
        progress: a tqdm bar over steps.
        storage_dtype: how the encoder file stores its weights, ``float32`` or ``float16`` (half
            the size; :func:`~partlift.distill.point_m2ae_io.save_point_m2ae`). The resume state
            is always float32.

    Raises:
        InputError: malformed corpus or config. CheckpointError: a resume state of another run.
    """
    from partlift.distill.point_m2ae_io import save_point_m2ae
    from partlift.distill.point_m2ae_mae import PointM2AEPretrainModel

    t_start = time.perf_counter()
    if not isinstance(config, PretrainConfig):
        raise InputError(f"pretrain: expected a PretrainConfig, got {type(config).__name__}")
    clouds = np.asarray(clouds)
    if clouds.ndim != 3 or clouds.shape[2] != 3 or clouds.shape[0] < 1 or clouds.shape[1] < config.points:
        raise InputError(f"pretrain: expected clouds (S >= 1, P >= {config.points}, 3), got {clouds.shape}")
    clouds = clouds.astype(np.float32)
    dev = torch.device(device)
    fp = _fingerprint(clouds, config)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(config.seed)
        model = PointM2AEPretrainModel(config.mask_ratio).to(dev)
        opt = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr, foreach=False)
        log: list[dict[str, Any]] = []
        start = 0
        if paths is not None and resume and paths.state.is_file():
            try:
                state = torch.load(paths.state, map_location=dev, weights_only=True)
            except Exception as exc:  # noqa: BLE001 - a truncated or foreign file
                raise CheckpointError(f"{paths.state}: unreadable resume state ({exc}); delete it to start over") from None
            if state.get("fingerprint") != fp:
                raise CheckpointError(f"{paths.state} is the resume state of another corpus or config; "
                                      "delete it or run without resuming (--no-resume)")
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            log = json.loads(state["log"])
            start = int(state["epoch"]) + 1
            logger.info("pretrain: resuming %s at epoch %d of %d", paths.out, start, config.epochs)
        n = clouds.shape[0]
        bs = min(config.batch_size, n)
        steps_per_epoch = max(1, n // bs)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=config.epochs * steps_per_epoch, initial=start * steps_per_epoch,
                       desc="pretrain", unit="step")
        stopped = False
        trained_s = sum(r["seconds"] for r in log)
        for epoch in range(start, config.epochs):
            t0 = time.perf_counter()
            lr = _lr(epoch, config)
            for g in opt.param_groups:
                g["lr"] = lr
            model.train()
            order = np.random.default_rng([config.seed, epoch]).permutation(n)
            losses = []
            for step in range(steps_per_epoch):
                rng = np.random.default_rng([config.seed, epoch, step])
                torch.manual_seed(int(rng.integers(2**62)))
                gen = torch.Generator(device=dev).manual_seed(int(rng.integers(2**62)))
                xyz = torch.from_numpy(_batch(clouds, order[step * bs:(step + 1) * bs], config, rng)).to(dev)
                loss = model(xyz, gen)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                if bar is not None:
                    bar.set_postfix(loss=f"{losses[-1]:.5f}", epoch=epoch)
                    bar.update(1)
            seconds = time.perf_counter() - t0
            trained_s += seconds
            log.append({"epoch": epoch, "loss": round(float(np.mean(losses)), 7), "lr": lr, "steps": steps_per_epoch,
                        "seconds": round(seconds, 3)})
            if paths is not None:
                atomic.write_json(paths.log, {"meta": meta or {}, "config": config.to_dict(), "epochs": log})
                with atomic.replacing(paths.state) as tmp:
                    torch.save({"fingerprint": fp, "model": model.state_dict(), "optimizer": opt.state_dict(),
                                "log": json.dumps(log), "epoch": epoch}, tmp)
            if config.time_limit_s is not None and trained_s >= config.time_limit_s and epoch + 1 < config.epochs:
                stopped = True
                logger.info("pretrain: time limit reached after epoch %d", epoch)
                break
        if bar is not None:
            bar.close()
    encoder = model.encoder()
    full_meta = dict(meta or {})
    full_meta.update({
        "objective": "point-m2ae multi-scale masked autoencoding", "config": config.to_dict(),
        "n_shapes": int(n), "epochs_done": len(log), "final_loss": log[-1]["loss"] if log else None,
        "train_seconds": round(trained_s, 1), "device": str(dev), "stopped_early": stopped,
        "torch": torch.__version__,
    })
    if paths is not None:
        save_point_m2ae(paths.out, encoder, full_meta, dtype=storage_dtype)
        _plot(paths.curve, log)
        if not stopped:
            paths.state.unlink(missing_ok=True)
    return PretrainResult(encoder, log, time.perf_counter() - t_start, start, stopped, full_meta)


def _plot(path: Path, log: Sequence[dict[str, Any]]) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([r["epoch"] for r in log], [r["loss"] for r in log], lw=1, marker=".")
    ax.set_xlabel("epoch")
    ax.set_ylabel("Chamfer L2 (masked groups)")
    ax.set_yscale("log")
    fig.tight_layout()
    return atomic.save_figure(path, fig)
