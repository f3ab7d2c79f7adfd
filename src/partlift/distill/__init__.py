"""PartDistill (Umam et al., CVPR 2024; METHODS §4): distil a 3D student from 2D teacher knowledge.

Public API::

    from partlift.distill import DistillConfig, build_knowledge, align, load_student, predict_shape

* :mod:`~partlift.distill.config` — :class:`DistillConfig` (every setting, with its source).
* :mod:`~partlift.distill.backbones` — the student backbone registry (``list_backbones()``).
* :mod:`~partlift.distill.student` — backbone + per-point head; labelling a whole shape.
* :mod:`~partlift.distill.knowledge` — per-shape teacher knowledge (sparse point x prediction).
* :mod:`~partlift.distill.losses` — forward loss (§4.4) and backward re-scoring (§4.5).
* :mod:`~partlift.distill.align` — the ``tta`` / ``pre`` training loop, checkpoints, resume.
* :mod:`~partlift.distill.collection` — collections (folders, ``synthetic:CAT:N``) and their knowledge.
* :mod:`~partlift.distill.method` — the ``partdistill`` / ``partdistill-tta`` Segmenter methods.

Submodules import torch; importing this package imports only the light names below lazily.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DistillConfig",
    "distill_preset",
    "list_backbones",
    "build_knowledge",
    "ShapeKnowledge",
    "align",
    "load_student",
    "save_student",
    "predict_shape",
    "collection_knowledge",
]

_LAZY = {
    "DistillConfig": "partlift.distill.config",
    "distill_preset": "partlift.distill.config",
    "list_backbones": "partlift.distill.backbones",
    "build_knowledge": "partlift.distill.knowledge",
    "ShapeKnowledge": "partlift.distill.knowledge",
    "align": "partlift.distill.align",
    "load_student": "partlift.distill.align",
    "save_student": "partlift.distill.align",
    "predict_shape": "partlift.distill.student",
    "collection_knowledge": "partlift.distill.collection",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'partlift.distill' has no attribute {name!r}")
