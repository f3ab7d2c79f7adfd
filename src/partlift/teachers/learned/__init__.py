"""The learned teacher: a compact 2D part segmenter trained on renders of generated shapes.

A closed-vocabulary teacher of PartNet-E part names (per category), trained only on procedural
shapes from :mod:`partlift.data.synthetic` rendered by partlift's own renderer — not a
vision-language model. It serves as a box teacher (PartSLIP), a mask teacher with features
(PartSTAD) and a pixel teacher (PartDistill), and needs no ground truth and no download.

Modules: :mod:`.network` (the U-Net), :mod:`.inputs` (views -> network inputs and targets),
:mod:`.data` (training-data renderer), :mod:`.augment` (batch augmentation), :mod:`.train`
(trainer, ``partlift train-teacher``), :mod:`.checkpoint` (safetensors + JSON header, vocabulary),
:mod:`.evaluate` (2D IoU), :mod:`.teacher` (inference -> :class:`~partlift.types.Predictions`).

Builder for the registry: ``build(model=None)`` loads the packaged checkpoint
(``partlift/teachers/learned/weights/teacher.safetensors``, package data); ``build(model=path)``
(``--teacher learned:/path/to/teacher.safetensors``) loads a user's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from partlift.errors import UnavailableError

__all__ = ["PACKAGED_NAME", "packaged_checkpoint", "build", "describe"]

PACKAGED_NAME = "teacher.safetensors"
"""File name of the checkpoint shipped in ``partlift/teachers/learned/weights/``."""

TRAIN_HINT = (
    "train one with `partlift train-teacher --categories Bottle Bucket KitchenPot Mug "
    "--shapes-per-category 60 --out teacher.safetensors` and use --teacher learned:teacher.safetensors"
)


def packaged_checkpoint() -> Path | None:
    """The packaged checkpoint's path (via importlib.resources), or None when none is shipped."""
    from importlib import resources

    ref = resources.files("partlift.teachers.learned").joinpath("weights", PACKAGED_NAME)
    return Path(str(ref)) if ref.is_file() else None


def build(*, model: str | None = None, device: str = "cpu", mode: str = "mask",
          min_pixels: int | None = None, batch_size: int = 10, seed: int | None = None):
    """Build the learned teacher (registry builder).

    Args:
        model: a checkpoint path; None = the packaged checkpoint.
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

    path = Path(model).expanduser() if model else packaged_checkpoint()
    if path is None:
        raise UnavailableError(f"teacher 'learned': no packaged checkpoint in this install; {TRAIN_HINT}")
    return LearnedTeacher.load(path, device=device, mode=mode, min_pixels=min_pixels, batch_size=batch_size)


def describe(model: str | None = None) -> dict[str, Any]:
    """``{"checkpoint", "categories", "part_names", "resolution", "training"}`` of a checkpoint
    (the packaged one by default) without loading its tensors; ``{"checkpoint": None}`` when none
    is packaged (for ``partlift teachers``)."""
    from partlift.teachers.learned.checkpoint import read_header

    path = Path(model).expanduser() if model else packaged_checkpoint()
    if path is None:
        return {"checkpoint": None, "hint": TRAIN_HINT}
    h = read_header(path)
    return {"checkpoint": str(path), "categories": h["categories"], "part_names": h["part_names"],
            "resolution": h["model"]["resolution"], "training": h.get("training", {})}
