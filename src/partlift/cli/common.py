"""Small helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path
from typing import Any

from partlift import atomic
from partlift.config import json_ready


def add_device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda[:N]")


def atomic_write_json(path: str | os.PathLike, payload: Any) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically (temp file + rename)."""
    return atomic.write_json(path, json_ready(payload), indent=2)


def versions() -> dict[str, str]:
    """Versions of partlift and the libraries whose behaviour affects results."""
    import numpy
    import scipy
    import torch

    from partlift import __version__

    return {
        "partlift": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
    }
