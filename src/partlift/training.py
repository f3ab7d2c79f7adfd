"""What every partlift training run shares: files, optimiser, schedule, resume state, log, curve.

PartSTAD fitting (:mod:`partlift.stad.fit`) and PartDistill alignment (:mod:`partlift.distill.align`)
keep their own loops (what an epoch is, what is selected, when the backward round starts); this
module holds what they have in common, so both runs look the same from outside:

* :class:`RunPaths` — the files of a run, derived from its output path ``OUT.safetensors``:
  ``OUT.log.json`` (per-epoch JSON log), ``OUT.curve.png`` (training curve) and ``OUT.state.pt``
  (resume state, removed when the run finishes);
* :func:`build_optimizer` — ``"adam"`` (:class:`Adam`, written out) or ``"adamw"``
  (``torch.optim.AdamW``); :func:`cosine_lr` — the per-epoch cosine schedule;
* :func:`save_state` / :func:`load_state` / :func:`check_same_run` — the resume state: a dict of
  tensors and plain values, written atomically with ``torch.save`` and read back with
  ``torch.load(weights_only=True)`` (no pickled code), tagged with a fingerprint of the run's
  inputs so that a state from another run is refused;
* :func:`save_weights` / :func:`read_weights` — the result: safetensors with a JSON description
  under one metadata key, written atomically;
* :func:`write_log` — the JSON log; :func:`draw_curves` — the curve PNG (matplotlib Agg).

Every file goes through :mod:`partlift.atomic`. This module imports nothing of partlift beyond
the atomic writer and the errors, so the method packages import it, never the other way round.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from partlift import atomic
from partlift.errors import CheckpointError, InputError

__all__ = [
    "RunPaths",
    "Adam",
    "OPTIMIZERS",
    "build_optimizer",
    "cosine_lr",
    "save_state",
    "load_state",
    "check_same_run",
    "save_weights",
    "read_weights",
    "write_log",
    "Series",
    "Panel",
    "draw_curves",
]


# ----------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class RunPaths:
    """Files of one resumable training run, derived from its output path.

    ``out``: the result (safetensors); ``log``: ``<stem>.log.json``; ``curve``:
    ``<stem>.curve.png``; ``state``: ``<stem>.state.pt`` (resume state), where ``<stem>`` is
    ``out`` without its last suffix (``w.safetensors`` -> ``w``).
    """

    out: Path

    @classmethod
    def for_output(cls, out: str | os.PathLike) -> RunPaths:
        return cls(Path(out))

    @property
    def stem(self) -> Path:
        return self.out.with_suffix("") if self.out.suffix else self.out

    def _beside(self, suffix: str) -> Path:
        return self.stem.with_name(self.stem.name + suffix)

    @property
    def log(self) -> Path:
        return self._beside(".log.json")

    @property
    def curve(self) -> Path:
        return self._beside(".curve.png")

    @property
    def state(self) -> Path:
        return self._beside(".state.pt")


# ----------------------------------------------------------------------------------- optimiser


class Adam:
    """Adam (Kingma & Ba; PyTorch's default variant: bias-corrected, no weight decay, no amsgrad).

    Written out because constructing ``torch.optim.Adam`` imports ``torch._dynamo`` on first use
    (measured 2–5 s on this CPU), a large share of a < 30 s TTA budget. Same update as
    ``torch.optim.Adam(params, lr, betas=(0.9, 0.999), eps=1e-8)`` (tested against it). The
    learning rate is the attribute ``lr`` (set it before :meth:`step` to follow a schedule);
    ``scales`` (one per parameter, default 1) multiply it per parameter, e.g. a smaller rate for
    a fine-tuned pretrained encoder than for a fresh head.
    """

    def __init__(self, params: Sequence[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, *, scales: Sequence[float] | None = None) -> None:
        if scales is not None and len(scales) != len(params):
            raise InputError(f"Adam: expected one lr scale per parameter ({len(params)}), got {len(scales)}")
        kept = [(p, 1.0 if scales is None else float(s)) for p, s in
                zip(params, scales if scales is not None else [1.0] * len(params), strict=True) if p.requires_grad]
        self.params = [p for p, _ in kept]
        self.scales = [s for _, s in kept]
        self.lr, self.betas, self.eps = float(lr), betas, float(eps)
        self.step_count = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        b1, b2 = self.betas
        c1 = 1.0 - b1 ** self.step_count
        c2 = 1.0 - b2 ** self.step_count
        for p, m, v, scale in zip(self.params, self.m, self.v, self.scales, strict=True):
            if p.grad is None:
                continue
            g = p.grad
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v.sqrt() / math.sqrt(c2)).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr * scale / c1)

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step_count, "lr": self.lr, "m": [t.clone() for t in self.m],
                "v": [t.clone() for t in self.v]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = int(state["step"])
        self.lr = float(state["lr"])
        for dst, src in zip(self.m + self.v, list(state["m"]) + list(state["v"]), strict=True):
            dst.copy_(src)


OPTIMIZERS = ("adam", "adamw")
"""Names :func:`build_optimizer` accepts."""


def build_optimizer(name: str, params: Iterable[torch.nn.Parameter], *, lr: float,
                    weight_decay: float = 0.0, scales: Sequence[float] | None = None) -> Adam | torch.optim.Optimizer:
    """The optimiser of a run.

    Args:
        name: ``"adam"`` — :class:`Adam` (PartDistill, §4.6; no weight decay), or ``"adamw"`` —
            ``torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)`` (PartSTAD, §3.6).
        params: the parameters to update.
        lr: learning rate (> 0).
        weight_decay: decoupled weight decay (``"adamw"`` only).
        scales: ``"adam"`` only: one learning-rate factor per parameter (see :class:`Adam`).

    Both have ``zero_grad``, ``step``, ``state_dict`` and ``load_state_dict``.
    """
    if name not in OPTIMIZERS:
        raise InputError(f"build_optimizer: unknown optimiser {name!r}; choose one of {list(OPTIMIZERS)}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise InputError(f"build_optimizer: lr must be a finite number > 0, got {lr!r}")
    if name == "adam":
        if weight_decay:
            raise InputError("build_optimizer: 'adam' has no weight decay; use 'adamw' for weight_decay > 0")
        return Adam(list(params), lr=lr, scales=scales)
    if scales is not None:
        raise InputError("build_optimizer: per-parameter scales are for 'adam' only")
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def cosine_lr(epoch: int, n_epochs: int, lr: float, lr_min: float) -> float:
    """CosineAnnealingLR's value at ``epoch`` (0-based; T_max = ``n_epochs``, stepped per epoch)."""
    return lr_min + (lr - lr_min) * (1.0 + math.cos(math.pi * epoch / n_epochs)) / 2.0


# ----------------------------------------------------------------------------------- resume state


def save_state(path: str | os.PathLike, state: Mapping[str, Any]) -> Path:
    """Write a resume state (tensors, numbers, strings, lists and dicts of them) atomically."""
    path = Path(path)
    with atomic.replacing(path) as tmp:
        torch.save(dict(state), tmp)
    return path


def load_state(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a state written by :func:`save_state` with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: the file is truncated, foreign or holds pickled objects.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise CheckpointError(f"{path}: unreadable resume state ({exc}); delete it to start over") from None


def check_same_run(state: Mapping[str, Any], fingerprint: str, path: str | os.PathLike, what: str) -> None:
    """Raise :class:`CheckpointError` unless ``state["fingerprint"] == fingerprint``.

    ``what`` names what the fingerprint covers, for the message (e.g. "shapes, teacher or settings").
    """
    if state.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{path} is the resume state of a different run (a different training run: other "
            f"{what}); delete it or pass --no-resume to start over"
        )


# ----------------------------------------------------------------------------------- result


def save_weights(path: str | os.PathLike, module: torch.nn.Module, key: str, description: Mapping[str, Any]) -> Path:
    """Write ``module``'s tensors as safetensors with ``description`` as JSON under ``key``, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic.replacing(path) as tmp:
        save_file(tensors, str(tmp), metadata={key: json.dumps(description)})
    return path


def read_weights(path: str | os.PathLike, key: str, *, expected: str) -> tuple[dict[str, Any] | None, dict[str, torch.Tensor]]:
    """Read a safetensors file: (the JSON description under ``key`` or None, the tensors on CPU).

    Args:
        expected: what the file should be, for the message (e.g. "a `partlift distill` output").

    Raises:
        InputError: the file does not exist.
        CheckpointError: not a safetensors file.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} not found; expected {expected}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            raw = (f.metadata() or {}).get(key)
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise CheckpointError(f"{path} is not a safetensors file ({type(exc).__name__}: {exc}); expected {expected}") from None
    return (None if raw is None else json.loads(raw)), tensors


# ----------------------------------------------------------------------------------- log, curve


def write_log(path: str | os.PathLike, meta: Mapping[str, Any], epochs: Sequence[Mapping[str, Any]],
              **sections: Any) -> Path:
    """Write the run's JSON log ``{"meta": ..., <sections>..., "epochs": [...]}`` atomically."""
    return atomic.write_json(path, {"meta": dict(meta), **sections, "epochs": list(epochs)})


@dataclass(frozen=True)
class Series:
    """One line of a panel: y values over the panel's x, with a legend label and line style."""

    y: Sequence[float]
    label: str | None = None
    ls: str = "-"
    color: str | None = None


@dataclass(frozen=True)
class Panel:
    """One plot of a curve picture: x values (epochs), lines, axis labels, dashed marker lines."""

    x: Sequence[float]
    series: Sequence[Series]
    ylabel: str
    xlabel: str = "epoch"
    marks: Sequence[tuple[float, str | None]] = field(default_factory=tuple)


def draw_curves(path: str | os.PathLike, panels: Sequence[Panel], *, width: float | None = None) -> Path:
    """Draw ``panels`` side by side into a PNG (matplotlib Agg, no pyplot state), atomically.

    ``marks``: (x, legend label or None) drawn as grey dashed vertical lines. A legend is drawn
    on panels where a line or mark has a label.
    """
    from matplotlib.figure import Figure

    if not panels:
        raise InputError("draw_curves: expected at least one panel")
    fig = Figure(figsize=(width or 3.5 * len(panels) + (1.5 if len(panels) == 1 else 0.0), 3.2), dpi=110)
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for s in panel.series:
            ax.plot(list(panel.x), list(s.y), lw=1, ls=s.ls, label=s.label, color=s.color)
        for x, label in panel.marks:
            ax.axvline(x, color="grey", ls="--", lw=0.8, label=label)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        if any(s.label for s in panel.series) or any(label for _, label in panel.marks):
            ax.legend(fontsize=7)
    fig.tight_layout()
    return atomic.save_figure(path, fig)
