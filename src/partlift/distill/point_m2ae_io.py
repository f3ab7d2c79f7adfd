"""Strict loading (and saving) of Point-M2AE encoder weights (METHODS §4.3, §4.12.4).

Two file formats are read:

* the **official** self-supervised checkpoint ``point_m2ae_pre-train.pth``: a torch pickle
  ``{"base_model": state_dict, "optimizer": …, "epoch": …, "metrics": …}`` of the whole
  pre-training model ``Point_M2AE``. Its encoder is ``base_model["h_encoder.*"]``; its decoder
  (``mask_token``, ``h_decoder.*``, ``decoder_pos_embeds.*``, ``token_prop.*``,
  ``decoder_norm.*``, ``rec_head.*``) is not used and skipped. A run saved from an
  ``nn.DataParallel`` wrapper prefixes every key with ``module.`` (official ``builder.py``
  strips it too); that prefix is removed when *every* key has it. Read with
  ``torch.load(weights_only=True)`` (no code from the file runs); numpy scalars in the
  bookkeeping entries are allowed, anything else is refused.
* **ours**: safetensors holding exactly the encoder's ``h_encoder.*`` tensors, with a JSON
  header under ``"partlift"`` (``kind = "point-m2ae-encoder"``), written by
  :func:`save_point_m2ae` (e.g. by ``partlift pretrain``).

Loading is **strict**, unlike the release (``strict=False``, which can silently leave the encoder
random, METHODS §4.12.4): every encoder tensor must be present with its shape, and no key may be
left unexplained, else one :class:`~partlift.errors.CheckpointError` line names the missing,
unexpected and mis-shaped keys. BatchNorm ``num_batches_tracked`` counters may be absent (unused
in eval mode; torch's own loader tolerates them too).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from partlift import atomic
from partlift.distill.point_m2ae import PointM2AEEncoder, build_point_m2ae
from partlift.errors import CheckpointError, InputError

__all__ = [
    "ENCODER_KIND",
    "ENCODER_FORMAT_VERSION",
    "HEADER_KEY",
    "DECODER_PREFIXES",
    "load_point_m2ae",
    "read_encoder_state",
    "check_encoder_state",
    "save_point_m2ae",
    "STORAGE_DTYPES",
]

logger = logging.getLogger(__name__)

ENCODER_KIND = "point-m2ae-encoder"
ENCODER_FORMAT_VERSION = 1
HEADER_KEY = "partlift"
DECODER_PREFIXES: tuple[str, ...] = (
    "mask_token", "h_decoder.", "decoder_pos_embeds.", "token_prop.", "decoder_norm.", "rec_head.",
)
"""Keys of the official pre-training model that are not the encoder (skipped when loading)."""
_ENCODER_PREFIX = "h_encoder."
_OPTIONAL_SUFFIX = ".num_batches_tracked"
_MAX_LISTED = 4
_HINT = ("expected the official point_m2ae_pre-train.pth (base_model with h_encoder.* tensors) "
         "or a `partlift pretrain` encoder")


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED])
    more = len(keys) - _MAX_LISTED
    return f"[{shown}{f', +{more} more' if more > 0 else ''}]"


def check_encoder_state(state: dict[str, torch.Tensor], *, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Validate an encoder state dict against :class:`PointM2AEEncoder`; return the tensors to load.

    Args:
        state: tensors named as the official ``base_model`` (``h_encoder.*``, maybe decoder keys,
            maybe all prefixed with ``module.``).
        source: the file name for messages.

    Returns:
        The ``h_encoder.*`` tensors, keyed as ``PointM2AEEncoder.state_dict()``.

    Raises:
        CheckpointError: one line naming the missing, unexpected and mis-shaped keys.
    """
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    expected = {k: tuple(v.shape) for k, v in PointM2AEEncoder().state_dict().items()}
    enc = {k: v for k, v in state.items() if k.startswith(_ENCODER_PREFIX)}
    unexpected = sorted(k for k in state if k not in expected and not k.startswith(DECODER_PREFIXES))
    missing = sorted(k for k in expected if k not in enc and not k.endswith(_OPTIONAL_SUFFIX))
    bad = []
    for k in sorted(set(expected) & set(enc)):
        got = tuple(enc[k].shape) if isinstance(enc[k], torch.Tensor) else type(enc[k]).__name__
        if got != expected[k]:
            bad.append(f"{k} {got} != {expected[k]}")
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing {_listing(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected {_listing(unexpected)}")
        if bad:
            parts.append(f"{len(bad)} with the wrong shape {_listing(bad)}")
        raise CheckpointError(f"{source}: not a Point-M2AE encoder: {'; '.join(parts)}; {_HINT}")
    skipped = len(state) - len(enc)
    if skipped:
        logger.debug("%s: skipped %d decoder tensors of the pre-training model", source, skipped)
    return enc


def _is_safetensors(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and not head.startswith(b"PK")


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as first:  # noqa: BLE001 - any unpickling failure is reported below
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # noqa: BLE001 - not a zip checkpoint
            unsafe = None
        if unsafe and all(g.startswith(("numpy.", "numpy._core.", "numpy.core.")) for g in unsafe):
            import importlib

            allowed = []
            for g in unsafe:
                mod, _, name = g.rpartition(".")
                allowed.append(getattr(importlib.import_module(mod), name))
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, map_location="cpu", weights_only=True)
        reason = str(first).strip().splitlines()[0] if str(first).strip() else type(first).__name__
        raise CheckpointError(
            f"{path}: cannot be read as a weights-only torch checkpoint ({reason}); {_HINT}"
        ) from None


def read_encoder_state(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The checked encoder tensors of an official or partlift file, and its description.

    Returns:
        ``(tensors keyed as PointM2AEEncoder.state_dict(), meta)``; ``meta`` is our JSON header,
        or ``{"kind": "official", "epoch": …}`` for the official file.

    Raises:
        InputError: the file does not exist.
        CheckpointError: unreadable, no ``base_model``, or the tensors do not fit (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"Point-M2AE encoder file {path} not found; pass the official point_m2ae_pre-train.pth "
            "(github ZrrSkywalker/Point-M2AE) or a `partlift pretrain` output"
        )
    if _is_safetensors(path):
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                raw = (f.metadata() or {}).get(HEADER_KEY)
                state = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{path}: unreadable safetensors file ({type(exc).__name__}); {_HINT}") from None
        meta = json.loads(raw) if raw else {}
        if meta.get("kind") != ENCODER_KIND:
            raise CheckpointError(f"{path}: safetensors without a {ENCODER_KIND!r} header (kind {meta.get('kind')!r}); {_HINT}")
        if meta.get("format_version") != ENCODER_FORMAT_VERSION:
            raise CheckpointError(f"{path}: encoder format {meta.get('format_version')}, this partlift reads {ENCODER_FORMAT_VERSION}")
        return check_encoder_state(state, source=str(path)), meta
    obj = _torch_load(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("base_model"), dict):
        keys = sorted(obj)[:6] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"{path}: no 'base_model' state dict in the checkpoint (found {keys}); {_HINT}")
    state = {k: v for k, v in obj["base_model"].items()}
    epoch = obj.get("epoch")
    return check_encoder_state(state, source=str(path)), {"kind": "official", "epoch": epoch if isinstance(epoch, int) else None}


def load_point_m2ae(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> PointM2AEEncoder:
    """A :class:`PointM2AEEncoder` with the weights of ``path`` loaded strictly, in eval mode.

    Args:
        path: the official ``point_m2ae_pre-train.pth`` or a :func:`save_point_m2ae` file.
        device: where the encoder lives.

    Raises:
        InputError: the file does not exist.
        CheckpointError: the file is not a Point-M2AE encoder (one line naming the keys).
    """
    tensors, meta = read_encoder_state(path)
    net = build_point_m2ae(seed=0)
    result = net.load_state_dict(tensors, strict=False)
    # check_encoder_state already proved the fit; only the optional BN counters may be missing
    left = [k for k in result.missing_keys if not k.endswith(_OPTIONAL_SUFFIX)]
    if left or result.unexpected_keys:  # pragma: no cover - guarded by check_encoder_state
        raise CheckpointError(f"{path}: encoder keys do not fit ({left + result.unexpected_keys})")
    logger.info("Point-M2AE encoder loaded from %s (%s, %d tensors)", path, meta.get("kind"), len(tensors))
    return net.to(device).eval()


STORAGE_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16}
"""How :func:`save_point_m2ae` may store the floating tensors (loaded back as float32)."""


def save_point_m2ae(path: str | os.PathLike, encoder: PointM2AEEncoder, meta: dict[str, Any] | None = None,
                    *, dtype: str = "float32") -> Path:
    """Write ``encoder``'s tensors as safetensors with a JSON header (``meta`` plus kind, format
    version and storage dtype), atomically. Readable by :func:`load_point_m2ae`.

    Args:
        dtype: ``"float32"`` (exact) or ``"float16"`` (half the size: 25 MB instead of 51 MB, a
            relative rounding of ≤ 4.9e-4 per weight; integer buffers stay as they are).
    """
    from safetensors.torch import save_file

    from partlift.config import json_ready

    if not isinstance(encoder, PointM2AEEncoder):
        raise InputError(f"save_point_m2ae: expected a PointM2AEEncoder, got {type(encoder).__name__}")
    if dtype not in STORAGE_DTYPES:
        raise InputError(f"save_point_m2ae: expected dtype one of {sorted(STORAGE_DTYPES)}, got {dtype!r}")
    path = Path(path)
    header = dict(json_ready(meta or {}), kind=ENCODER_KIND, format_version=ENCODER_FORMAT_VERSION, storage_dtype=dtype)
    tensors = {k: (v.to(STORAGE_DTYPES[dtype]) if v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in encoder.state_dict().items()}
    with atomic.replacing(path) as tmp:
        save_file(tensors, str(tmp), metadata={HEADER_KEY: json.dumps(header)})
    return path
