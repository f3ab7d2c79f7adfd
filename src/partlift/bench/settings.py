"""Settings of a benchmark run (``partlift bench``): one frozen dataclass, JSON round-trippable.

The fields that change results enter :meth:`BenchSettings.fingerprint`; a result folder remembers
the fingerprint of the run that wrote it, so a resumed run never mixes results of different
settings. The device, progress and scale-out choices do not enter it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any

from partlift.config import RENDER_PRESETS
from partlift.errors import InputError
from partlift.keys import content_key
from partlift.methods import base_method, get_method
from partlift.sources import parse_source

__all__ = [
    "DATASETS",
    "base_method",
    "DEFAULT_SWEEP_LEVELS",
    "BenchSettings",
    "parse_source_spec",
]

DATASETS: tuple[str, ...] = ("partnete", "shapenetpart", "synthetic")
"""Test-set kinds: a PartNet-E-layout folder, a ShapeNetPart release, or generated shapes."""

DEFAULT_SWEEP_LEVELS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
"""Noise levels of ``--sweep`` without values: 0 = oracle, 1 = the named profile, > 1 beyond it."""

def _hash(obj: Any) -> str:
    return content_key(obj, length=16)


def parse_source_spec(spec: str | None, what: str) -> tuple[str, Any] | None:
    """``"synthetic:N"`` -> ("synthetic", N); ``"root:K"`` -> ("root", K); other -> ("dir", path)
    (:func:`partlift.sources.parse_source`).

    Raises:
        InputError: an empty string, or ``synthetic:``/``root:`` without a positive count.
    """
    if spec is None:
        return None
    src = parse_source(spec, what, allow=("synthetic", "root", "dir"))
    return src.kind, (src.path if src.kind == "dir" else src.count)


@dataclass(frozen=True)
class BenchSettings:
    """What a benchmark run evaluates and how.

    Attributes:
        dataset: one of :data:`DATASETS`.
        out: output folder (results.json, report.md, plots/, shapes/, prepared/).
        root: dataset root (``partnete``/``shapenetpart``); None for ``synthetic``.
        split: dataset split to evaluate (default: ``test`` for the official PartNet-E layout and
            for ShapeNetPart when split files exist; every shape of a flat PartNet-E folder).
        categories: categories to evaluate (default: every category found; for ``synthetic``
            required — the generator's categories are listed by ``partlift synth --list``).
        count: ``synthetic``: shapes generated per category (default 3); real datasets: at most
            this many test shapes per category (first in id order; default all).
        methods: method names (see :func:`partlift.methods.list_methods`; variants included).
        teacher: teacher spec for :func:`partlift.teachers.registry.build_teacher`.
        teacher_mode: output mode of the simulated or learned teacher (``box``, ``mask``,
            ``pixel``); None = the teacher's default.
        shots: few-shot source of PartSTAD: a folder (same dataset kind; the ``few_shot`` split
            of an official PartNet-E root), ``synthetic:N`` generated shapes per category, or
            ``root:K`` shapes per category taken from the test root and excluded from evaluation.
        collection: PartDistill pre-alignment collection: ``synthetic:N``, ``root:K`` (the
            ``train`` split of a ShapeNetPart root, else the few-shot shapes of ``root:K``
            shots) or a folder.
        preset: render preset name.
        device: torch device ("cpu", "cuda"); not part of the fingerprint.
        seed: seed of the segmenter (superpoints, training) and of generated shapes.
        points: points per generated shape (test, shots and collection).
        superpoints: the superpoint settings, ``{key: value}`` from ``--set superpoints.KEY=VALUE``:
            ``preset`` (``matched``, the default; ``partslip`` for parity with PartSLIP; ``pure``)
            and :class:`~partlift.superpoints.SuperpointConfig` fields on top of it. The resolved
            settings enter the fingerprint, so a run made with other superpoints is not mixed in.
        options: per-method settings, ``{method: {key: value}}``: for ``partstad`` the fields of
            :class:`~partlift.stad.config.StadConfig` (e.g. ``{"epochs": 50, "masks": False}``),
            for ``partdistill``/``partdistill-tta`` ``preset`` and DistillConfig fields.
    """

    dataset: str
    out: str
    root: str | None = None
    split: str | None = None
    categories: tuple[str, ...] | None = None
    count: int | None = None
    methods: tuple[str, ...] = ("partslip",)
    teacher: str = "simulated:zeroshot"
    teacher_mode: str | None = None
    shots: str | None = None
    collection: str | None = "synthetic:8"
    preset: str = "partslip"
    device: str = "cpu"
    seed: int = 0
    points: int = 30_000
    superpoints: dict[str, Any] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from partlift.teachers.registry import mode_options

        mode_options(self.teacher, self.teacher_mode)  # a mode only for teachers that have modes
        if not isinstance(self.superpoints, dict):
            raise InputError(f"bench: superpoints must be a dict of settings, got {type(self.superpoints).__name__}")
        self.superpoint_config()  # unknown keys or a bad value fail here
        if self.dataset not in DATASETS:
            raise InputError(f"bench: --dataset must be one of {list(DATASETS)}, got {self.dataset!r}")
        if not isinstance(self.out, str) or not self.out:
            raise InputError("bench: --out must name an output folder")
        if self.dataset == "synthetic":
            if self.root is not None:
                raise InputError(
                    "bench: --dataset synthetic generates its test shapes and takes no --root; "
                    "give --categories and --count instead"
                )
            if not self.categories:
                raise InputError(
                    "bench: --dataset synthetic needs --categories (e.g. Chair Table); "
                    "`partlift synth --list` shows the generated categories"
                )
        elif not self.root:
            raise InputError(f"bench: --dataset {self.dataset} needs --root DIR (the dataset folder)")
        if self.categories is not None:
            cats = tuple(self.categories)
            if not cats or not all(isinstance(c, str) and c for c in cats):
                raise InputError(f"bench: --categories expects category names, got {list(cats)}")
            object.__setattr__(self, "categories", tuple(dict.fromkeys(cats)))
        for name, lo in (("count", 1), ("seed", 0), ("points", 1)):
            v = getattr(self, name)
            if v is None and name == "count":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InputError(f"bench: {name} must be an integer >= {lo}, got {v!r}")
        methods = tuple(dict.fromkeys(self.methods))
        if not methods or not all(isinstance(m, str) and m for m in methods):
            raise InputError(f"bench: --methods expects method names, got {list(self.methods)}")
        object.__setattr__(self, "methods", methods)
        if self.preset not in RENDER_PRESETS:
            raise InputError(f"bench: --preset must be one of {sorted(RENDER_PRESETS)}, got {self.preset!r}")
        if not isinstance(self.teacher, str) or not self.teacher.strip():
            raise InputError("bench: --teacher must name a teacher, e.g. simulated:zeroshot")
        parse_source_spec(self.shots, "--shots")
        parse_source_spec(self.collection, "--collection")
        if not isinstance(self.options, dict) or not all(isinstance(v, dict) for v in self.options.values()):
            raise InputError("bench: options must be {method: {key: value}}")
        from partlift.methods import check_settings, list_methods

        for name, opts in sorted(self.options.items()):
            if name not in list_methods():
                raise InputError(f"bench: settings for unknown method {name!r}; methods: {list_methods()}")
            check_settings(name, opts)

    @property
    def test_count(self) -> int | None:
        """Generated test shapes per category (synthetic: default 3) or the real-data limit."""
        if self.dataset == "synthetic" and self.count is None:
            return 3
        return self.count

    def superpoint_config(self) -> Any:
        """The run's :class:`~partlift.superpoints.SuperpointConfig` (``superpoints`` on top of
        the defaults, seeded with ``seed``)."""
        from partlift.superpoints import SuperpointConfig

        return SuperpointConfig.from_overrides(self.superpoints, seed=self.seed)

    def replace(self, **changes: Any) -> BenchSettings:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        out["options"] = json.loads(json.dumps(self.options, sort_keys=True, default=str))
        out["superpoints"] = json.loads(json.dumps(self.superpoints, sort_keys=True, default=str))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchSettings:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"BenchSettings: unknown keys {unknown}")
        kw = dict(data)
        for k in ("categories", "methods"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        return cls(**kw)

    def result_key(self) -> dict[str, Any]:
        """The settings shared by every method's results (all but out, device, methods, options).

        Methods can be added to a finished run; a method's own options enter its records'
        fingerprint (:meth:`method_fingerprint`).
        """
        d = self.to_dict()
        for k in ("out", "device", "methods", "options"):
            d.pop(k)
        if d.get("teacher_mode") is None:
            d.pop("teacher_mode", None)  # runs made before the option keep their fingerprint
        # the resolved superpoint settings: a run made before the "matched" default (or with other
        # superpoints) has another fingerprint and is not resumed into
        d["superpoints"] = self.superpoint_config().to_dict()
        return d

    def fingerprint(self) -> str:
        """A short hash of :meth:`result_key` (hex)."""
        return _hash(self.result_key())

    def method_fingerprint(self, method: str, preparation: str = "") -> str:
        """Hash of the shared settings, the method, its options and its preparation's hash."""
        return _hash([self.result_key(), method, self.method_options(method), preparation])

    def method_options(self, method: str) -> dict[str, Any]:
        """Options of ``method``: those of its base method, then the alias defaults, then its own."""
        base = base_method(method)
        out = dict(self.options.get(base, {})) if base != method else {}
        out.update(get_method(method).overrides)
        out.update(self.options.get(method, {}))
        return out
