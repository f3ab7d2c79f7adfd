"""partlift: segment 3D shapes into named parts by lifting 2D vision-language predictions.

Implements PartSLIP (CVPR 2023), PartSTAD (ECCV 2024) and PartDistill (CVPR 2024) in one package.
See README.md for the four-line happy path.
"""

from __future__ import annotations

__version__ = "0.1.0"
