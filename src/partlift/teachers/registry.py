"""Registry of 2D teachers: names, kinds, builders and install hints (DESIGN §3 "Teachers").

A plain dict of :class:`TeacherSpec` (no registration by import side effect). A teacher is named
by a spec string ``"name[:option][+refiner[:option]]"``:

* ``"simulated"``, ``"simulated:fewshot"``, ``"simulated:zeroshot@0.5"`` (profile and noise
  level; the option is the simulated teacher's ``profile``);
* ``"grounding-dino"``, ``"owlv2:<model id or local dir>"`` (the option is the HF builder's
  ``model``);
* ``"learned"`` (the packaged checkpoint), ``"learned:/path/to/teacher.safetensors"``;
* ``"grounding-dino+sam"``, ``"simulated:zeroshot+sam"``: a box teacher followed by a mask refiner
  (:class:`~partlift.teachers.base.RefinedTeacher`). A refiner alone is not a teacher.

Builders are ``"module:function"`` strings imported only when a teacher is built, so listing
teachers never imports transformers; availability is checked with
:func:`importlib.util.find_spec` on the spec's requirements.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partlift.errors import InputError, UnavailableError
from partlift.teachers.base import MaskRefiner, RefinedTeacher, Teacher

__all__ = [
    "TeacherSpec",
    "TEACHERS",
    "KINDS",
    "list_teachers",
    "available_teachers",
    "teacher_status",
    "parse_teacher_spec",
    "build_teacher",
    "spec_name",
    "takes_seed",
    "seed_options",
    "mode_options",
    "MODE_TEACHERS",
    "TEACHER_MODES",
]

KINDS: tuple[str, ...] = ("box", "mask", "pixel", "refiner")
"""Teacher kinds: regions are boxes, boxes + masks, dense pixel regions, or a box -> mask refiner."""

HF_HINT = "pip install 'partlift[hf]'"


@dataclass(frozen=True)
class TeacherSpec:
    """How to build one teacher.

    Attributes:
        name: registry name (lower case, no ``:`` or ``+``).
        kind: one of :data:`KINDS`.
        description: one line for ``partlift teachers``.
        builder: ``"module:function"``; the function takes keyword options and returns a
            :class:`~partlift.teachers.base.Teacher` (a ``MaskRefiner`` for kind "refiner").
        requires: importable top-level modules the builder needs (checked without importing).
        install_hint: the command that installs them.
        option: the builder keyword that the ``":option"`` part of a spec string fills.
        seeded: the builder takes a ``seed`` option (the teacher's noise is seeded); the run's
            seed reaches it through :func:`seed_options`.
    """

    name: str
    kind: str
    description: str
    builder: str
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    option: str = "model"
    seeded: bool = False


TEACHERS: dict[str, TeacherSpec] = {
    "simulated": TeacherSpec(
        name="simulated",
        kind="mask",
        description="predictions from ground truth with a seeded VLM-like noise model "
        "(profiles: oracle, zeroshot, fewshot; needs labelled shapes)",
        builder="partlift.teachers.simulated:build",
        option="profile",
        seeded=True,
    ),
    "learned": TeacherSpec(
        name="learned",
        kind="mask",
        description="offline 2D part segmenter trained on renders of generated shapes (packaged; "
        "closed vocabulary: PartNet-E part names of its categories); 'learned:<file.safetensors>'",
        builder="partlift.teachers.learned:build",
    ),
    "grounding-dino": TeacherSpec(
        name="grounding-dino",
        kind="box",
        description="Grounding DINO open-vocabulary detector (Hugging Face; GLIP's closest "
        "pip-installable relative)",
        builder="partlift.teachers.hf.grounding_dino:build",
        requires=("transformers",),
        install_hint=HF_HINT,
    ),
    "owlv2": TeacherSpec(
        name="owlv2",
        kind="box",
        description="OWLv2 open-vocabulary detector (Hugging Face)",
        builder="partlift.teachers.hf.owlv2:build",
        requires=("transformers",),
        install_hint=HF_HINT,
    ),
    "sam": TeacherSpec(
        name="sam",
        kind="refiner",
        description="Segment Anything box -> mask refiner (Hugging Face); compose as "
        "'<box teacher>+sam'",
        builder="partlift.teachers.hf.sam:build",
        requires=("transformers",),
        install_hint=HF_HINT,
    ),
    "clipseg": TeacherSpec(
        name="clipseg",
        kind="pixel",
        description="CLIPSeg per-pixel text-prompted segmentation (Hugging Face; "
        "PartDistill's pixel teacher role)",
        builder="partlift.teachers.hf.clipseg:build",
        requires=("transformers",),
        install_hint=HF_HINT,
    ),
}


def list_teachers() -> list[TeacherSpec]:
    """Every registered teacher spec, sorted by name (available or not)."""
    return [TEACHERS[k] for k in sorted(TEACHERS)]


def _spec(name: str) -> TeacherSpec:
    try:
        return TEACHERS[name]
    except KeyError:
        raise InputError(
            f"unknown teacher {name!r}; choose one of {sorted(TEACHERS)} "
            "(compose a box teacher with a refiner as e.g. 'grounding-dino+sam')"
        ) from None


def teacher_status(name: str) -> tuple[bool, str]:
    """``(available, reason)`` for teacher ``name``; reason is "" when available.

    Checks that every required module can be found (``importlib.util.find_spec``) without
    importing it. Raises InputError for an unknown name.
    """
    spec = _spec(name)
    missing = [m for m in spec.requires if not _module_found(m)]
    if missing:
        return False, f"missing {', '.join(missing)}; {spec.install_hint}".rstrip("; ")
    return True, ""


def _module_found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available_teachers() -> list[str]:
    """Names of the teachers whose requirements are installed, sorted."""
    return [s.name for s in list_teachers() if teacher_status(s.name)[0]]


def parse_teacher_spec(spec: str) -> list[tuple[str, str | None]]:
    """Split ``"name[:option][+refiner[:option]]"`` into ``[(name, option or None), ...]``.

    Raises InputError on an empty or malformed string or an unknown name.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(
            f"teacher: expected a name such as 'simulated:zeroshot' or 'grounding-dino+sam', got {spec!r}"
        )
    parts = []
    for piece in spec.strip().split("+"):
        name, sep, option = piece.strip().partition(":")
        name = name.strip().lower()
        if not name or (sep and not option.strip()):
            raise InputError(
                f"teacher: malformed spec {spec!r}; expected 'name[:option][+refiner[:option]]', "
                "e.g. 'simulated:zeroshot' or 'grounding-dino+sam'"
            )
        _spec(name)
        parts.append((name, option.strip() if sep else None))
    if len(parts) > 2:
        raise InputError(
            f"teacher: {spec!r} chains {len(parts)} teachers; expected one teacher, optionally "
            "followed by one refiner ('<teacher>+sam')"
        )
    return parts


def _build_one(name: str, option: str | None, options: dict[str, Any]) -> Any:
    spec = _spec(name)
    ok, reason = teacher_status(name)
    if not ok:
        raise UnavailableError(f"teacher {name!r} is unavailable: {reason}")
    kwargs = dict(options)
    if option is not None:
        kwargs[spec.option] = option
    module, _, func = spec.builder.partition(":")
    try:
        builder: Callable[..., Any] = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise UnavailableError(
            f"teacher {name!r}: cannot load its builder {spec.builder} ({exc}); "
            f"{spec.install_hint or 'reinstall partlift'}"
        ) from exc
    return builder(**kwargs)


def build_teacher(
    spec: str | Teacher, *, refiner_options: dict[str, Any] | None = None, **options: Any
) -> Teacher:
    """Build a teacher from a spec string (or return a ready teacher object unchanged).

    Args:
        spec: ``"name[:option][+refiner[:option]]"`` (see the module docstring) or an object
            already implementing :class:`~partlift.teachers.base.Teacher`.
        refiner_options: keyword options for the refiner's builder, when the spec has one.
        **options: keyword options for the teacher's builder (e.g. ``seed=1`` for the simulated
            teacher, ``device="cuda"`` for HF teachers).

    Raises:
        InputError: unknown or malformed name (the message lists the valid names), a refiner
            used alone, or a refiner after a non-box teacher.
        UnavailableError: a required extra is not installed (the message has the install hint).
    """
    if not isinstance(spec, str):
        if isinstance(spec, Teacher):
            return spec
        raise InputError(
            f"teacher: expected a teacher name or a Teacher object, got {type(spec).__name__}"
        )
    parts = parse_teacher_spec(spec)
    (name, option), rest = parts[0], parts[1:]
    if TEACHERS[name].kind == "refiner":
        raise InputError(
            f"teacher: {name!r} refines boxes into masks and is not a teacher by itself; "
            f"compose it after a box teacher, e.g. 'grounding-dino+{name}'"
        )
    if rest and TEACHERS[rest[0][0]].kind != "refiner":
        raise InputError(
            f"teacher: {spec!r}: only a refiner may follow '+' (one of "
            f"{sorted(s.name for s in list_teachers() if s.kind == 'refiner')}), got {rest[0][0]!r}"
        )
    if rest and TEACHERS[name].kind == "pixel":
        raise InputError(f"teacher: {spec!r}: a pixel teacher's regions cannot be refined by a box refiner")
    teacher = _build_one(name, option, options)
    if not rest:
        return teacher
    refiner = _build_one(rest[0][0], rest[0][1], refiner_options or {})
    if not isinstance(refiner, MaskRefiner):
        raise InputError(f"teacher: the builder of {rest[0][0]!r} did not return a MaskRefiner")
    return RefinedTeacher(teacher, refiner)


def spec_name(spec: Any) -> str:
    """The registry name of the teacher named by spec string ``spec`` (its first, non-refiner
    part, lower case: ``"simulated:zeroshot+sam"`` -> ``"simulated"``); "" for a non-string."""
    if not isinstance(spec, str):
        return ""
    return spec.strip().split("+")[0].partition(":")[0].strip().lower()


def takes_seed(spec: Any) -> bool:
    """Whether the teacher named by ``spec`` (its first, non-refiner part) takes a ``seed`` option."""
    entry = TEACHERS.get(spec_name(spec))
    return bool(entry is not None and entry.seeded)


def seed_options(spec: Any, seed: int | None, *, unless: int | None = None) -> dict[str, Any]:
    """The builder options that carry the run's ``seed`` to the teacher named by ``spec``.

    ``{"seed": seed}`` for a seeded teacher (the simulated one), else ``{}``; also ``{}`` when
    ``seed`` is None or equals ``unless`` (the benchmark leaves the default seed out of the
    teacher's name). The one place that decides which teachers take the run's seed.
    """
    if seed is None or seed == unless or not takes_seed(spec):
        return {}
    return {"seed": int(seed)}


MODE_TEACHERS = ("simulated", "learned")
"""Teachers whose builder takes ``mode`` (``box``, ``mask`` or ``pixel``: B-VLM, mask, P-VLM)."""

TEACHER_MODES = ("box", "mask", "pixel")


def mode_options(spec: Any, mode: str | None) -> dict[str, Any]:
    """The builder options that set the output ``mode`` of the teacher named by ``spec``.

    ``{}`` for ``mode=None``; ``{"mode": mode}`` for the simulated and learned teachers; an
    InputError for another teacher or mode (one line: which teachers and modes exist).
    """
    if mode is None:
        return {}
    if mode not in TEACHER_MODES:
        raise InputError(f"teacher mode: expected one of {list(TEACHER_MODES)}, got {mode!r}")
    if spec_name(spec) not in MODE_TEACHERS:
        raise InputError(f"--teacher-mode applies to the {' and '.join(MODE_TEACHERS)} teachers only, "
                         f"got teacher {spec!r}; drop --teacher-mode or use one of them")
    return {"mode": mode}
