"""The learned teacher: a compact 2D part segmenter trained on renders of generated shapes.

A closed-vocabulary teacher of PartNet-E part names (per category), trained only on procedural
shapes from :mod:`partlift.data.synthetic` rendered by partlift's own renderer — not a
vision-language model. It serves as a box teacher (PartSLIP), a mask teacher with features
(PartSTAD) and a pixel teacher (PartDistill), and needs no ground truth and no download.

Modules: :mod:`.network` (the U-Net), :mod:`.inputs` (views -> network inputs and targets),
:mod:`.data` (training-data renderer), :mod:`.augment` (batch augmentation), :mod:`.train`
(trainer, ``partlift train-teacher``), :mod:`.checkpoint` (safetensors + JSON header, vocabulary),
:mod:`.evaluate` (2D IoU), :mod:`.teacher` (inference -> :class:`~partlift.types.Predictions`).

Builder for the registry: ``build(model=None)`` loads the packaged checkpoints
(``partlift/teachers/learned/weights/``, package data, :data:`PACKAGED_NAMES`): the specialist
``teacher.safetensors`` answers for its categories, the generalist ``teacher-all.safetensors``
for every other one (:class:`~partlift.teachers.learned.routed.RoutedTeacher`);
``build(model=path)`` (``--teacher learned:/path/to/teacher.safetensors``) loads a user's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from partlift.errors import UnavailableError

__all__ = ["PACKAGED_NAME", "PACKAGED_NAMES", "packaged_checkpoint", "packaged_checkpoints", "build", "describe"]

PACKAGED_NAMES = ("teacher.safetensors", "teacher-all.safetensors")
"""Checkpoints shipped in ``partlift/teachers/learned/weights/``, in priority order: a shape goes
to the first that knows its category (docs/learned_teacher.md, "Shipped checkpoints")."""

PACKAGED_NAME = PACKAGED_NAMES[0]
"""File name of the first (specialist) packaged checkpoint."""

TRAIN_HINT = (
    "train one with `partlift train-teacher --categories Bottle Bucket KitchenPot Mug "
    "--shapes-per-category 60 --out teacher.safetensors` and use --teacher learned:teacher.safetensors"
)


def packaged_checkpoints() -> tuple[Path, ...]:
    """The packaged checkpoints' paths that exist (via importlib.resources), in priority order."""
    from importlib import resources

    refs = [resources.files("partlift.teachers.learned").joinpath("weights", n) for n in PACKAGED_NAMES]
    return tuple(Path(str(r)) for r in refs if r.is_file())


def packaged_checkpoint() -> Path | None:
    """The first packaged checkpoint's path, or None when none is shipped."""
    paths = packaged_checkpoints()
    return paths[0] if paths else None


def build(*, model: str | None = None, device: str = "cpu", mode: str = "mask",
          min_pixels: int | None = None, batch_size: int = 10, seed: int | None = None):
    """Build the learned teacher (registry builder).

    Args:
        model: a checkpoint path; None = the packaged checkpoints (one teacher when one is
            shipped, else a :class:`~partlift.teachers.learned.routed.RoutedTeacher` over them).
        device: torch device the network runs on.
        mode: "mask" (default), "box" or "pixel" (see :mod:`.teacher`).
        min_pixels: smallest part component kept, in working pixels.
        batch_size: views per forward pass.
        seed: accepted for symmetry with the simulated teacher and ignored: the learned
            teacher is deterministic and has no noise seed.

    Raises:
        UnavailableError: no checkpoint is packaged and none is given (the message says how to
            train one). InputError / CheckpointError: the file is missing or not a teacher.
    """
    from partlift.teachers.learned.teacher import LearnedTeacher

    del seed

    options = dict(device=device, mode=mode, min_pixels=min_pixels, batch_size=batch_size)
    if model:
        return LearnedTeacher.load(Path(model).expanduser(), **options)
    paths = packaged_checkpoints()
    if not paths:
        raise UnavailableError(f"teacher 'learned': no packaged checkpoint in this install; {TRAIN_HINT}")
    if len(paths) == 1:
        return LearnedTeacher.load(paths[0], **options)
    from partlift.teachers.learned.routed import RoutedTeacher

    return RoutedTeacher([LearnedTeacher.load(p, **options) for p in paths])


def describe(model: str | None = None) -> dict[str, Any]:
    """``{"checkpoint", "categories", "part_names", "resolution", "training"}`` of a checkpoint
    (the packaged ones by default: ``categories`` is their union, sorted, ``part_names`` the
    answering member's, the rest the first file's, and ``members`` lists each file with its
    categories) without loading tensors; ``{"checkpoint": None}`` when none is packaged (for
    ``partlift teachers``)."""
    from partlift.teachers.learned.checkpoint import read_header

    paths = (Path(model).expanduser(),) if model else packaged_checkpoints()
    if not paths:
        return {"checkpoint": None, "hint": TRAIN_HINT}
    heads = [read_header(p) for p in paths]
    part_names: dict[str, Any] = {}
    for h in reversed(heads):
        part_names.update(h["part_names"])
    out = {"checkpoint": str(paths[0]), "categories": sorted(part_names),
           "part_names": {c: part_names[c] for c in sorted(part_names)},
           "resolution": heads[0]["model"]["resolution"], "training": heads[0].get("training", {})}
    if len(paths) > 1:
        out["members"] = [{"checkpoint": str(p), "categories": list(h["categories"])} for p, h in zip(paths, heads, strict=True)]
    return out
