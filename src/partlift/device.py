"""Device resolution: the one check that a torch device name exists on this machine."""

from __future__ import annotations

from typing import Any

from partlift.errors import InputError, UnavailableError

__all__ = ["resolve_device"]


def resolve_device(device: Any) -> Any:
    """The torch device named by ``device`` ("cpu", "cuda", "cuda:1", "mps"), checked to exist.

    Raises:
        InputError: ``device`` is not a device name.
        UnavailableError: the device is valid but this machine or torch build lacks it.
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InputError(
            f"device: expected a torch device name such as 'cpu', 'cuda' or 'cuda:0', got {device!r}"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UnavailableError(
                f"device {str(device)!r} was requested but CUDA is not available "
                f"(torch {torch.__version__}, torch.cuda.is_available() is False); "
                "pass device='cpu' or run on a machine with a CUDA build of torch"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UnavailableError(
                f"device {str(device)!r} was requested but only {torch.cuda.device_count()} CUDA "
                f"device(s) exist; use an index below {torch.cuda.device_count()}"
            )
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UnavailableError(f"device {str(device)!r} was requested but MPS is not available; pass device='cpu'")
    elif dev.type != "cpu":
        raise InputError(f"device: expected 'cpu', 'cuda[:N]' or 'mps', got {str(device)!r}")
    return dev
