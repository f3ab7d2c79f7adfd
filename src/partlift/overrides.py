"""The one settings grammar of the command line: ``--set SECTION.KEY=VALUE`` (``--option`` alias).

Sections are stage names (``render``, ``superpoints``) and method names (``partslip``,
``partstad``, ``partdistill``, ..., see :mod:`partlift.methods`); keys are the fields of the
section's settings class (a :class:`~partlift.config.Settings`); values are JSON (``3``,
``0.5``, ``false``, ``"mask"`` or a bare word such as ``mask``). An unknown section or key is an
:class:`~partlift.errors.InputError` (exit 2) naming the valid ones. From Python the same names are
the settings classes' fields::

    partlift segment chair.ply --set render.image_size=400 --set partslip.region=mask ...
    Segmenter(preset=render_preset("partslip").replace(image_size=400),
              method_options={"region": "mask"})
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any

from partlift.errors import InputError

__all__ = ["STAGES", "add_set_arguments", "parse_set", "check_set", "section_keys"]

STAGES: dict[str, str] = {
    "render": "partlift.config:RenderConfig",
    "superpoints": "partlift.superpoints.config:SuperpointConfig",
}
"""Stage sections and their settings classes (``"module:Class"``)."""

STAGE_EXTRA_KEYS: dict[str, tuple[str, ...]] = {"superpoints": ("preset",)}
"""Keys a stage section takes beyond its settings class's fields (``superpoints.preset``: a
named :meth:`~partlift.superpoints.SuperpointConfig.preset`)."""


def add_set_arguments(p: argparse.ArgumentParser, sections: str) -> None:
    """Add ``--set`` and its alias ``--option`` (repeatable) to a command; ``sections`` for the help."""
    p.add_argument("--set", "--option", dest="set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help=f"a setting, e.g. {sections} (repeatable; values are JSON or bare words; "
                   "unknown sections or keys are refused with the valid ones)")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_set(items: Iterable[str], *, what: str = "--set") -> dict[str, dict[str, Any]]:
    """``["partstad.masks=false"]`` -> ``{"partstad": {"masks": False}}`` (values parsed as JSON)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, val = str(item).partition("=")
        section, dot, field = key.partition(".")
        if not sep or not dot or not section.strip() or not field.strip():
            raise InputError(f"{what} expects SECTION.KEY=VALUE (e.g. partstad.masks=false), got {item!r}")
        out.setdefault(section.strip(), {})[field.strip()] = _value(val.strip())
    return out


def section_keys(section: str) -> tuple[str, ...]:
    """The valid keys of a stage or method section, sorted."""
    from partlift.methods import import_target, setting_keys

    if section in STAGES:
        return tuple(sorted((*import_target(STAGES[section]).keys(), *STAGE_EXTRA_KEYS.get(section, ()))))
    return setting_keys(section)


def check_set(settings: Mapping[str, Mapping[str, Any]], sections: Iterable[str], *, what: str = "--set") -> None:
    """Refuse a section outside ``sections`` or a key its settings class lacks, naming the valid ones."""
    valid = sorted(sections)
    for section, values in settings.items():
        if section not in valid:
            raise InputError(f"{what}: unknown section {section!r}; valid sections here are {valid}")
        keys = section_keys(section)
        unknown = sorted(set(values) - set(keys))
        if unknown:
            raise InputError(f"{what}: unknown {section} setting(s) {unknown}; valid keys are {list(keys)}")
