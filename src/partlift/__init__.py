"""partlift: segment 3D shapes into named parts by lifting 2D vision-language predictions.

Implements PartSLIP (CVPR 2023), PartSTAD (ECCV 2024) and PartDistill (CVPR 2024) in one package::

    from partlift import Segmenter, load_shape

    shape = load_shape("chair.ply")
    labels = Segmenter(teacher="simulated:fewshot").predict(shape, parts=["back", "leg", "seat"])
    labels.save("out/")

The top-level names are imported on first use, so ``import partlift`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_shape": "partlift.io",
    "Segmenter": "partlift.pipeline",
    "Shape": "partlift.types",
    "PartLabels": "partlift.part_labels",
    "Predictions": "partlift.types",
    "Views": "partlift.types",
    "render": "partlift.render",
    "PartliftError": "partlift.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'partlift' has no attribute {name!r}")
