"""The learned teacher's vocabulary and its checkpoint file (safetensors + a JSON header).

File layout: a standard safetensors file whose tensors are the :class:`PartUNet` state dict
(float32) and whose ``__metadata__`` holds one key, ``"partlift_teacher"``, a JSON object with:

* ``format``: ``"partlift-learned-teacher/1"``;
* ``categories``: the trained categories, sorted; ``part_names``: category -> its PartNet-E part
  names (the generator's order); ``classes``: the class vocabulary (``"no part"`` first, then every
  part name, sorted);
* ``model``: the :class:`ModelConfig` (including the working resolution);
* ``render``: the training render settings (presets, point sizes, views, augmentation);
* ``data``: seeds, shapes per category, points per shape;
* ``training``: steps, batch size, learning rate, seed, device, threads, wall time, the command.

Loading is strict: the model is rebuilt from the header's config and every tensor must be there
with its exact shape. Size limit: :data:`MAX_BYTES` (the package ships one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from partlift.errors import CheckpointError, InputError
from partlift.teachers.learned.network import ModelConfig, PartUNet

__all__ = ["FORMAT", "MAX_BYTES", "NO_PART", "Vocabulary", "save_checkpoint", "load_checkpoint",
           "read_header"]

FORMAT = "partlift-learned-teacher/1"
MAX_BYTES = 20 * 1024 * 1024
NO_PART = "no part"
_KEY = "partlift_teacher"


@dataclass(frozen=True)
class Vocabulary:
    """Categories, their part names and the global class list of a learned teacher.

    Attributes:
        part_names: category -> tuple of its part names (PartNet-E names).
        categories: the categories, sorted (index = category id of the network).
        classes: ``("no part", *sorted union of part names)`` (index = class id).
    """

    part_names: dict[str, tuple[str, ...]]

    @classmethod
    def from_parts(cls, part_names: dict[str, Any]) -> Vocabulary:
        if not isinstance(part_names, dict) or not part_names:
            raise InputError("learned teacher: expected a non-empty {category: part names} mapping")
        clean = {}
        for cat in sorted(part_names):
            names = tuple(str(n) for n in part_names[cat])
            if not names or len(set(names)) != len(names):
                raise InputError(f"learned teacher: category {cat!r} needs distinct part names, got {names}")
            clean[str(cat)] = names
        return cls(clean)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted(self.part_names))

    @property
    def classes(self) -> tuple[str, ...]:
        return (NO_PART, *sorted({n for names in self.part_names.values() for n in names}))

    def class_mask(self) -> torch.Tensor:
        """(n_categories, K) bool: which classes each category may predict ("no part" always)."""
        cls_index = {n: i for i, n in enumerate(self.classes)}
        mask = torch.zeros(len(self.categories), len(self.classes), dtype=torch.bool)
        mask[:, 0] = True
        for c, cat in enumerate(self.categories):
            for n in self.part_names[cat]:
                mask[c, cls_index[n]] = True
        return mask

    def category_index(self, category: str | None) -> int:
        """The category id of ``category`` (InputError listing the known ones otherwise)."""
        if category is None:
            raise InputError(
                "learned teacher: the shape's category is unknown; pass --category (one of "
                f"{', '.join(self.categories)})"
            )
        for i, cat in enumerate(self.categories):
            if cat.lower() == str(category).strip().lower():
                return i
        raise InputError(
            f"learned teacher: category {category!r} is not one it was trained on; it knows "
            f"{', '.join(self.categories)}"
        )

    def part_classes(self, category: str, names: tuple[str, ...]) -> np.ndarray:
        """(C,) int64 class ids of part ``names`` of ``category``; an unknown name is an InputError
        that lists the category's part names."""
        cat = self.categories[self.category_index(category)]
        known = {n.lower(): n for n in self.part_names[cat]}
        cls_index = {n: i for i, n in enumerate(self.classes)}
        out = []
        for name in names:
            key = str(name).strip().lower()
            if key not in known:
                raise InputError(
                    f"learned teacher: part {name!r} is not a part it knows for {cat}; it knows "
                    f"{', '.join(self.part_names[cat])}"
                )
            out.append(cls_index[known[key]])
        return np.asarray(out, dtype=np.int64)

    def point_classes(self, category: str, semantic: np.ndarray, part_names: tuple[str, ...]) -> np.ndarray:
        """(N,) int64 class of every point of a labelled shape: 0 for unlabelled points and for
        parts this vocabulary does not know for ``category``."""
        cat = self.categories[self.category_index(category)]
        known = {n.lower(): n for n in self.part_names[cat]}
        cls_index = {n: i for i, n in enumerate(self.classes)}
        lut = np.array(
            [cls_index[known[n.lower()]] if n.lower() in known else 0 for n in part_names] + [0],
            dtype=np.int64,
        )
        return lut[np.where(semantic >= 0, semantic, len(part_names))]


def save_checkpoint(path: str | Path, model: PartUNet, vocab: Vocabulary, header: dict[str, Any]) -> Path:
    """Write the teacher to ``path`` (safetensors + JSON header, atomically).

    Args:
        path: destination file (``.safetensors``).
        model: the network; its config goes into the header's ``model`` field.
        vocab: categories and part names.
        header: the ``render``, ``data`` and ``training`` fields (JSON-serialisable).

    Raises:
        InputError: the file would exceed :data:`MAX_BYTES` (use a smaller ``width``).
    """
    from safetensors.torch import save

    from partlift.atomic import write_bytes

    meta = {
        "format": FORMAT,
        "categories": list(vocab.categories),
        "part_names": {c: list(vocab.part_names[c]) for c in vocab.categories},
        "classes": list(vocab.classes),
        "model": model.config.to_dict(),
        **header,
    }
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    data = save(tensors, metadata={_KEY: json.dumps(meta, sort_keys=True)})
    if len(data) > MAX_BYTES:
        raise InputError(
            f"learned teacher checkpoint would be {len(data) / 2**20:.1f} MB, above the "
            f"{MAX_BYTES / 2**20:.0f} MB limit; train with a smaller --width"
        )
    return write_bytes(path, data)


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a learned-teacher checkpoint (without loading the tensors)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"learned teacher: checkpoint {str(path)!r} not found; train one with "
                         "`partlift train-teacher --categories ... --out teacher.safetensors`")
    try:
        with path.open("rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 0 < n < 100 * 2**20:
                raise ValueError("bad header length")
            raw = json.loads(fh.read(n).decode("utf-8"))
        meta = json.loads(raw["__metadata__"][_KEY])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"learned teacher: {str(path)!r} is not a partlift learned-teacher checkpoint ({exc}); "
            "expected a safetensors file written by `partlift train-teacher`"
        ) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"learned teacher: {str(path)!r} has format {meta.get('format')!r}, expected {FORMAT!r}"
        )
    return meta


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[PartUNet, Vocabulary, dict[str, Any]]:
    """Load a teacher strictly: ``(model in eval mode on device, vocabulary, header)``.

    Raises:
        InputError: the file does not exist.
        CheckpointError: not a learned-teacher file, or tensors missing / of the wrong shape.
    """
    from safetensors.torch import load_file

    meta = read_header(path)
    try:
        vocab = Vocabulary.from_parts(meta["part_names"])
        if list(vocab.classes) != list(meta["classes"]):
            raise ValueError("the class list does not match the part names")
        config = ModelConfig(**meta["model"])
        if config.n_classes != len(vocab.classes) or config.n_categories != len(vocab.categories):
            raise ValueError("the model config does not match the vocabulary")
        model = PartUNet(config)
        model.load_state_dict(load_file(str(path), device="cpu"), strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError, InputError) as exc:
        raise CheckpointError(f"learned teacher: {str(path)!r} does not load: {exc}".splitlines()[0]) from None
    return model.to(torch.device(device)).eval(), vocab, meta
