"""Exceptions raised at partlift's boundaries.

Every user-facing failure (bad file, bad array, unknown part name, unavailable teacher) is a
subclass of :class:`PartliftError`, whose message says what was expected, what came and what to
do. The CLI prints such an error as one line and exits with status 2; anything else is a bug.
"""

from __future__ import annotations


class PartliftError(ValueError):
    """Base class of every error partlift raises on purpose."""


class InputError(PartliftError):
    """An input (file, array, argument) is missing, malformed or out of range."""


class ShapeFileError(InputError):
    """A shape or label file cannot be read: missing, unknown format, truncated or corrupt."""


class UnavailableError(PartliftError):
    """An optional backend (teacher, extra) is not installed or its weights cannot be found."""


class CheckpointError(PartliftError):
    """A checkpoint does not match what it is being loaded for (teacher, parts, backbone)."""
