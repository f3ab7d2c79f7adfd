"""Shape sources: the one grammar, parsed in one place.

A shape source names where shapes come from (few-shot shapes, a collection, training shapes):

* ``synthetic:N`` — N generated shapes of each category in play (bench ``--shots`` /
  ``--collection``, ``fit-weights --shots``);
* ``synthetic:CAT:N[:SPLIT[:SEED]]`` — N generated shapes of category CAT from the generator's
  SPLIT (default given by the caller) and SEED (default 0) (``distill --collection``);
* ``root:K`` — K shapes per category taken from the benchmark's test root (and excluded from
  evaluation);
* anything else — a folder path.

Each command accepts the forms that make sense for it (:func:`parse_source` ``allow=``) and refuses
the others with a message listing what it accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from partlift.errors import InputError

__all__ = ["SOURCE_KINDS", "ShapeSource", "parse_source"]

SOURCE_KINDS: tuple[str, ...] = ("synthetic", "synthetic-category", "root", "dir")
"""``synthetic:N``, ``synthetic:CAT:N[:SPLIT[:SEED]]``, ``root:K``, a folder."""

_FORMS = {
    "synthetic": "synthetic:N",
    "synthetic-category": "synthetic:CAT:N[:SPLIT[:SEED]]",
    "root": "root:K",
    "dir": "a folder",
}
_COUNT = re.compile(r"^(synthetic|root):(\d+)$")
_CATEGORY = re.compile(r"^synthetic:([A-Za-z]+):(\d+)(?::([A-Za-z0-9_-]+))?(?::(\d+))?$")


@dataclass(frozen=True)
class ShapeSource:
    """A parsed shape source.

    Attributes:
        kind: one of :data:`SOURCE_KINDS`.
        spec: the text as given (stripped).
        count: shapes (per category for ``synthetic``/``root``); None for a folder.
        category: the category of ``synthetic:CAT:N``; else None.
        split: the generator split of ``synthetic:CAT:N:SPLIT``; else None.
        seed: the generator seed of ``synthetic:CAT:N:SPLIT:SEED``; else None.
        path: the folder of a ``dir`` source; else None.
    """

    kind: str
    spec: str
    count: int | None = None
    category: str | None = None
    split: str | None = None
    seed: int | None = None
    path: str | None = None


def parse_source(spec: object, what: str = "source", allow: tuple[str, ...] = SOURCE_KINDS) -> ShapeSource:
    """Parse a shape source (see the module docstring); only the kinds in ``allow`` are accepted.

    Raises:
        InputError: an empty string, a malformed ``synthetic:``/``root:`` form, a count < 1, or a
            kind outside ``allow`` — the message lists the accepted forms.
    """
    forms = " or ".join(repr(_FORMS[k]) if k != "dir" else _FORMS[k] for k in allow)
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"{what}: expected {forms}, got {spec!r}")
    s = spec.strip()
    m = _COUNT.match(s)
    if m:
        kind, n = m.group(1), int(m.group(2))
        out = ShapeSource(kind, s, count=n)
    elif s.startswith("synthetic:") and (m := _CATEGORY.match(s)):
        out = ShapeSource("synthetic-category", s, count=int(m.group(2)), category=m.group(1),
                          split=m.group(3), seed=None if m.group(4) is None else int(m.group(4)))
    elif s.startswith(("synthetic:", "root:")):
        raise InputError(f"{what}: malformed {s!r}; expected {forms} with a positive integer count")
    else:
        out = ShapeSource("dir", s, path=s)
    if out.kind not in allow:
        raise InputError(f"{what}: {s!r} is not accepted here; expected {forms}")
    if out.count is not None and out.count < 1:
        raise InputError(f"{what}: {s!r} asks for 0 shapes; expected a count >= 1")
    return out
