"""Tiny learned-teacher checkpoints for tests that must not depend on the packaged one.

:func:`write_tiny_teacher` writes a random-weights :class:`PartUNet` (width 4, 32 px) for a chosen
category subset with the project's own checkpoint writer, so a test can name a category the file
does not know whatever categories the packaged checkpoint covers (8 today, all 45 later).
"""

from __future__ import annotations

from pathlib import Path

import torch

from partlift.data.synthetic import category_parts
from partlift.teachers.learned.checkpoint import Vocabulary, save_checkpoint
from partlift.teachers.learned.network import ModelConfig, PartUNet


def write_tiny_teacher(path: str | Path, categories: tuple[str, ...], *, width: int = 4,
                       resolution: int = 32, seed: int = 0) -> Path:
    """Write a random-weights learned teacher knowing ``categories`` (their generator part names)."""
    vocab = Vocabulary.from_parts({c: category_parts(c) for c in categories})
    torch.manual_seed(seed)
    model = PartUNet(ModelConfig(n_classes=len(vocab.classes), n_categories=len(vocab.categories),
                                 width=width, embed_dim=8, resolution=resolution))
    header = {"render": {}, "data": {"note": "random weights, for tests"},
              "training": {"steps": 0, "command": "tests/learned_tiny.py"}}
    return save_checkpoint(path, model, vocab, header)
