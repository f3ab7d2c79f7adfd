"""Where the Hugging Face teachers' weights are looked for, and whether they are there.

Light on purpose (no torch, no transformers import): ``partlift teachers`` uses it to report
three states per teacher — package missing / weights not found locally / ready — and the
loaders use it to fail in seconds, not after ``huggingface_hub``'s retry loop, when a model id is
neither cached nor downloadable.

Weights are looked for, in order: the directory given in the teacher spec
(``--teacher owlv2:/path/to/dir``, a folder written by ``save_pretrained``), else the model id
(default or given, ``--teacher owlv2:org/name``) in the Hugging Face cache
(:func:`hf_cache_dir`: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``), else the hub itself when it can be reached.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

__all__ = [
    "DEFAULT_MODELS",
    "hf_cache_dir",
    "cached_config",
    "hub_reachable",
    "spec_hint",
    "weights_status",
]

#: The model each HF teacher loads when its spec gives none (the modules' ``DEFAULT_MODEL``).
DEFAULT_MODELS: dict[str, str] = {
    "grounding-dino": "IDEA-Research/grounding-dino-base",
    "owlv2": "google/owlv2-base-patch16-ensemble",
    "sam": "facebook/sam-vit-huge",
    "clipseg": "CIDAS/clipseg-rd64-refined",
}

#: Seconds to wait for a TCP connection to the hub before calling it unreachable.
HUB_TIMEOUT_S = 3.0


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder this process reads (honours HF_HUB_CACHE / HF_HOME)."""
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:
        home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
        return os.environ.get("HF_HUB_CACHE") or os.path.join(home, "hub")


def cached_config(model: str) -> str | None:
    """Path of ``model``'s ``config.json``: in the folder ``model``, or in the HF cache; else None."""
    path = os.path.expanduser(str(model))
    if os.path.isdir(path):
        cfg = os.path.join(path, "config.json")
        return cfg if os.path.isfile(cfg) else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(str(model), "config.json", cache_dir=hf_cache_dir())
    except Exception:  # malformed repo ids raise validation errors: not cached either way
        return None
    return found if isinstance(found, str) else None


def hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """Whether the hub can be reached: not offline (``HF_HUB_OFFLINE``), and a TCP connection to
    its endpoint opens within ``timeout`` seconds (one try, no retry loop)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except ImportError:
        endpoint = "https://huggingface.co"
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def spec_hint(what: str) -> str:
    """The ``--teacher`` spelling that gives ``what`` a local weights folder."""
    if what == "sam":
        return "--teacher <box teacher>+sam:/path/to/dir (e.g. grounding-dino+sam:/models/sam)"
    return f"--teacher {what}:/path/to/dir"


def weights_status(name: str, model: str | None = None) -> tuple[str, str]:
    """``(state, detail)`` of teacher ``name``'s weights: ``("ready", where)`` when they are
    found locally, else ``("no-weights", what to do)``. Never contacts the network."""
    model = model or DEFAULT_MODELS[name]
    found = cached_config(model)
    if found is not None:
        return "ready", os.path.dirname(found)
    return "no-weights", (
        f"{model} is not in {hf_cache_dir()}; run `hf download {model}`, or give a folder: "
        f"{spec_hint(name)}"
    )
