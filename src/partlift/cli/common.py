"""Small helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

from partlift.config import json_ready


def add_device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda[:N]")


def atomic_write_json(path: str | os.PathLike, payload: Any) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(json_ready(payload), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


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
