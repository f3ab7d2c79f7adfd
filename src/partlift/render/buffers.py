"""Output buffers of the renderer: large host arrays that the kernel can back with huge pages."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["host_empty"]


def host_empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` and ``dtype`` on ``device``.

    On the CPU the memory comes from numpy (``torch.from_numpy(np.empty(...))``): numpy asks the
    kernel for transparent huge pages on arrays of 4 MiB and more (``madvise``), so the first
    write into a render's 51 MB pixel -> point map or 19 MB images takes a few dozen page faults
    instead of ~17,000 of 4 KiB, which the renderer's threads otherwise take in turn (issue 17:
    one 10 x 800² render of a fresh process went from ~0.19-0.20 s to ~0.13 s on 2 cores).
    Elsewhere ``torch.empty``. The contents are the same either way: every element is written
    before it is read.
    """
    if device.type != "cpu":
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.from_numpy(np.empty(shape, dtype=torch.empty((), dtype=dtype).numpy().dtype))
