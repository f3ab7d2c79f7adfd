"""PartSTAD weight files: write, read back, and check against a teacher and part list.

A checkpoint ``weights.safetensors`` holds the weight net's and the null score's tensors; the
metadata key :data:`CHECKPOINT_KEY` holds JSON with the category, part names, teacher, feature
dimension, input dimension, config and model selection (written by
:func:`partlift.stad.fit.fit_category`). Files go through :mod:`partlift.training`
(safetensors, written atomically).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from partlift import training
from partlift.config import json_ready
from partlift.errors import CheckpointError, InputError
from partlift.stad.config import StadConfig
from partlift.stad.net import StadModel

__all__ = [
    "CHECKPOINT_KEY",
    "FORMAT_VERSION",
    "LoadedCheckpoint",
    "save_checkpoint",
    "load_checkpoint",
    "check_compatible",
    "teacher_identity",
]

CHECKPOINT_KEY = "partlift.stad"
"""safetensors metadata key of the checkpoint's JSON description."""

FORMAT_VERSION = 1
"""Checkpoint format version (bump on layout changes)."""


@dataclass(eq=False)
class LoadedCheckpoint:
    """A checkpoint read back: the model (eval mode), its config and description."""

    model: StadModel
    config: StadConfig
    meta: dict[str, Any]

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(self.meta["part_names"])

    @property
    def teacher(self) -> str:
        return str(self.meta["teacher"])

    @property
    def feature_dim(self) -> int:
        return int(self.meta["feature_dim"])


def save_checkpoint(path: str | os.PathLike, model: StadModel, meta: dict[str, Any]) -> Path:
    """Write ``model`` and its description atomically as safetensors.

    ``meta`` must hold ``category``, ``part_names``, ``teacher``, ``feature_dim``, ``in_dim`` and
    ``config`` (a :meth:`StadConfig.to_dict`); it is stored as JSON under :data:`CHECKPOINT_KEY`.
    """
    for key in ("category", "part_names", "teacher", "feature_dim", "in_dim", "config"):
        if key not in meta:
            raise InputError(f"save_checkpoint: meta must contain {key!r}")
    meta_out = dict(json_ready(meta), format_version=FORMAT_VERSION)
    return training.save_weights(path, model, CHECKPOINT_KEY, meta_out)


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (strict: every tensor must match).

    Raises:
        InputError: the file does not exist.
        CheckpointError: not a partlift PartSTAD checkpoint, another format version, or tensors
            that do not fit the described network.
    """
    path = Path(path)
    meta, tensors = training.read_weights(
        path, CHECKPOINT_KEY, expected="PartSTAD weights; train them with `partlift fit-weights`"
    )
    if meta is None:
        raise CheckpointError(f"{path} has no {CHECKPOINT_KEY!r} metadata; it is not a PartSTAD checkpoint from partlift")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {meta.get('format_version')}, this partlift reads "
            f"{FORMAT_VERSION}; retrain with `partlift fit-weights`"
        )
    config = StadConfig.from_dict(meta["config"])
    model = StadModel(int(meta["in_dim"]), config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: tensors do not fit the described network: {exc}") from None
    model.to(device).eval()
    return LoadedCheckpoint(model, config, meta)


_OPTIONS = re.compile(r"\([^()]*\)")


def teacher_identity(name: str) -> str:
    """A teacher name without run options: ``"simulated:fewshot(seed=3)"`` -> ``"simulated:fewshot"``.

    Weights depend on the teacher's features and regions, not on its noise seed.
    """
    return _OPTIONS.sub("", str(name)).strip()


def check_compatible(
    ckpt: LoadedCheckpoint, *, teacher: str, part_names: Sequence[str], feature_dim: int, source: str = "checkpoint"
) -> None:
    """Raise :class:`CheckpointError` unless ``ckpt`` was trained for this teacher and part list."""
    want_t, got_t = teacher_identity(ckpt.teacher), teacher_identity(teacher)
    if want_t != got_t:
        raise CheckpointError(
            f"{source} was trained with teacher {ckpt.teacher!r} but the predictions come from "
            f"{teacher!r}; use --teacher {want_t} or retrain the weights for {got_t} "
            "(weights learn a teacher's features and errors)"
        )
    if tuple(part_names) != ckpt.part_names:
        raise CheckpointError(
            f"{source} was trained for category {ckpt.meta.get('category')!r} with parts "
            f"{list(ckpt.part_names)} but the parts asked for are {list(part_names)}; pass "
            f"--parts {' '.join(ckpt.part_names)} or retrain for this part list"
        )
    if int(feature_dim) != ckpt.feature_dim:
        raise CheckpointError(
            f"{source} expects {ckpt.feature_dim}-dimensional teacher features, got {feature_dim}"
        )
