"""Registry of segmentation methods (DESIGN §3 "Methods"), shaped like the teacher registry.

A plain dict of :class:`MethodSpec` (no registration by import side effect). Code is named by
``"module:function"`` / ``"module:Class"`` strings imported only when a method is used, so listing
methods imports neither torch nor the methods' modules. Every place that names a method —
:class:`~partlift.pipeline.Segmenter`, ``partlift segment/demo --method``, the benchmark's
methods, preparations and ablation rows — reads this table; nothing else lists them.

A method is one module with

* a typed config class (a :class:`~partlift.config.Settings` dataclass) with a classmethod
  ``from_options(options: Mapping[str, Any], context: MethodContext) -> config`` that builds it
  from the user's options (``Segmenter(method_options=...)``, ``--set <method>.key=value``),
  rejecting unknown keys by name;
* a run function ``run(prepared: PreparedShape, predictions: Predictions, config,
  context: MethodContext) -> MethodResult`` on the prepared (unit-sphere) points;
* optionally a per-category preparation for the benchmark (fit weights, pre-align a student):
  ``prepare(request) -> dict`` of run options (see :mod:`partlift.bench.preparers`).

A variant (an ablation row) is a spec with ``base`` set: it runs and is prepared as its base
method, with ``overrides`` applied to its settings before the user's own.

Named presets per method (STYLE §7) are data in the spec (:attr:`MethodSpec.presets`): each base
method has one named after itself (the paper's settings) and may have more. One is chosen by the
setting ``preset`` — ``--set partstad.preset=released`` on the command line,
``method_options={"preset": "released"}`` / ``get_method("partstad").preset("released")`` from
Python — and expands into settings before the variant's overrides and the user's own keys
(:func:`apply_preset`). Method presets are not render presets (``Segmenter(preset=...)``,
``--preset``: :data:`partlift.config.RENDER_PRESETS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from partlift.errors import InputError

__all__ = [
    "MethodContext",
    "MethodSpec",
    "METHODS",
    "NEEDS",
    "apply_preset",
    "list_methods",
    "method_preset",
    "get_method",
    "base_method",
    "import_target",
    "method_config",
    "run_method",
    "setting_keys",
]

NEEDS: tuple[str, ...] = ("shots", "collection", "weights", "student", "masks")
"""What a method can need: labelled few-shot shapes or an unlabelled collection (for its
per-category preparation), a trained checkpoint (``weights`` / ``student`` option), or teacher
predictions with masks."""


@dataclass(frozen=True)
class MethodContext:
    """What a method may know about the run besides its own config (never the Segmenter).

    Attributes:
        device: torch device for any network ("cpu", "cuda").
        seed: the run's seed (training, sampling).
        teacher: the teacher's name (checked against checkpoints, recorded in results).
        teacher_kind: the teacher's kind ("box", "mask", "pixel"; None when unknown).
        vote: the run's PartSLIP voting settings (:class:`~partlift.lifting.voting.VoteConfig`,
            None = defaults): PartSLIP's own config starts from it, and every method groups
            instances with it (METHODS §2.5).
    """

    device: str = "cpu"
    seed: int = 0
    teacher: str = ""
    teacher_kind: str | None = None
    vote: Any = None


@dataclass(frozen=True)
class MethodSpec:
    """One segmentation method or one variant of a method.

    Attributes:
        name: registry name (lower case).
        description: one line for listings and reports.
        run: ``"module:function"`` of the run function (empty for a variant: its base's).
        config: ``"module:Class"`` of the typed run config (empty for a variant).
        prepare: ``"module:function"`` of the per-category preparation, or "" for none.
        settings: ``"module:Class"`` whose fields the preparation reads from the method's settings
            (``--set partstad.epochs=...``), or "" when the method has no preparation settings.
        extra_keys: further setting names the method accepts (e.g. a preset name).
        needs: what the method needs, from :data:`NEEDS`.
        base: for a variant, the method it runs and is prepared as.
        overrides: for a variant, settings applied before the user's own.
        presets: named settings of the method (preset name -> settings of its run config and its
            preparation settings), chosen with the setting ``preset``; a variant uses its base's.
    """

    name: str
    description: str
    run: str = ""
    config: str = ""
    prepare: str = ""
    settings: str = ""
    extra_keys: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    base: str = ""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def preset(self, name: str) -> dict[str, Any]:
        """The settings of this method's preset ``name`` (a copy); a variant's: its base's."""
        return method_preset(self.name, name)


def _variant(name: str, base: str, description: str, **overrides: Any) -> MethodSpec:
    return MethodSpec(name=name, description=description, base=base, overrides=dict(overrides))


_DISTILL_PRESETS: dict[str, dict[str, Any]] = {
    # The DistillConfig presets (partlift.distill.config.DISTILL_PRESETS) by name, shared by
    # partdistill and partdistill-tta; "partdistill" is the measured default.
    "partdistill": {"distill_config": "default"},
    "default": {"distill_config": "default"},
    "forward": {"distill_config": "forward"},
    "released": {"distill_config": "released"},
    "tiny": {"distill_config": "tiny"},
    "point-m2ae": {"distill_config": "point-m2ae"},
    "point-m2ae-fast": {"distill_config": "point-m2ae-fast"},
}


METHODS: dict[str, MethodSpec] = {
    "partslip": MethodSpec(
        name="partslip",
        description="PartSLIP superpoint voting (partlift.lifting)",
        run="partlift.lifting.method:run_partslip",
        config="partlift.lifting.config:VoteConfig",
        presets={
            # PartSLIP as released (METHODS §2.4): box votes, small-part priority by name, the
            # zero-area AABB shortcut.
            "partslip": {"region": "box", "priority_mode": "names", "aabb_zero_area_quirk": True},
            # The exact §2.4 score formula: every covering box votes.
            "exact": {"region": "box", "priority_mode": "names", "aabb_zero_area_quirk": False},
        },
    ),
    "partstad": MethodSpec(
        name="partstad",
        description="PartSTAD weighted voting, weights fitted per category on the few-shot shapes "
        "(partlift.stad)",
        run="partlift.stad.method:run_partstad",
        config="partlift.stad.method:PartstadRun",
        prepare="partlift.bench.preparers:prepare_partstad",
        settings="partlift.stad.config:StadConfig",
        needs=("shots", "weights"),
        presets={
            # The paper's protocol (METHODS §3.6) and intent (§3.11): StadConfig's defaults.
            "partstad": {"epochs": 400, "batch_size": 2, "lr": 1e-4, "null_lr": 0.05, "released_quirks": False,
                         "min_visible_points": 1, "vote": {}},
            # The released code's behaviour (docs/partstad.md "paper vs released"): encoding quirks,
            # > 1 visible point, whole-object filter off, the AABB shortcut on.
            "released": {"epochs": 400, "batch_size": 2, "lr": 1e-4, "null_lr": 0.05, "released_quirks": True,
                         "min_visible_points": 2,
                         "vote": {"whole_object_ratio": 2.0, "aabb_zero_area_quirk": True}},
        },
    ),
    "partdistill": MethodSpec(
        name="partdistill",
        description="PartDistill student pre-aligned per category on a collection (partlift.distill)",
        run="partlift.distill.method:run_partdistill",
        config="partlift.distill.method:PartdistillRun",
        prepare="partlift.bench.preparers:prepare_partdistill",
        settings="partlift.distill.config:DistillConfig",
        extra_keys=("preset", "distill_config"),
        needs=("collection", "student"),
        presets=_DISTILL_PRESETS,
    ),
    "partdistill-tta": MethodSpec(
        name="partdistill-tta",
        description="PartDistill student aligned on each test shape (partlift.distill)",
        run="partlift.distill.method:run_partdistill_tta",
        config="partlift.distill.method:PartdistillTTARun",
        prepare="partlift.bench.preparers:prepare_partdistill_tta",
        settings="partlift.distill.config:DistillConfig",
        extra_keys=("preset", "distill_config", "weights"),
        presets=_DISTILL_PRESETS,
    ),
    "partstad-box": _variant("partstad-box", "partstad", "PartSTAD voting with boxes instead of masks (ablation)",
                             masks=False),
    "partstad-nullonly": _variant("partstad-nullonly", "partstad",
                                  "PartSTAD with only the null score trained (ablation)", weights=False),
    "partdistill-forward": _variant("partdistill-forward", "partdistill",
                                    "PartDistill pre-aligned without the backward round (ablation)", backward=False),
    "partdistill-pre-tta": _variant("partdistill-pre-tta", "partdistill",
                                    "PartDistill pre-aligned student, then aligned on each test shape (pre + TTA)",
                                    tta=True),
    "partdistill-tta-forward": _variant("partdistill-tta-forward", "partdistill-tta",
                                        "PartDistill TTA without the backward round (ablation)", backward=False),
}
"""Every method and variant, by name. Adding a method = one module + one entry here."""


def list_methods(variants: bool = True) -> list[str]:
    """Names of the registered methods (and, with ``variants``, their ablation variants), sorted."""
    return sorted(n for n, s in METHODS.items() if variants or not s.base)


def get_method(name: str) -> MethodSpec:
    """The spec registered as ``name``; raises with the valid names when unknown."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown method {name!r}; choose one of {list_methods()}") from None


def base_method(name: str) -> str:
    """The method a variant runs as (``name`` itself for a method); raises when unknown."""
    spec = get_method(name)
    return spec.base or spec.name


def _base_spec(name: str) -> MethodSpec:
    return get_method(base_method(name))


def import_target(target: str) -> Any:
    """The object named by ``"module:attribute"`` (imported now)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def setting_keys(name: str) -> tuple[str, ...]:
    """The setting names ``--set <name>.KEY`` accepts, sorted: the run config's fields, the
    preparation settings' fields and the method's extra keys."""
    spec = _base_spec(name)
    keys = set(spec.extra_keys) | ({"preset"} if spec.presets else set())
    for target in (spec.config, spec.settings):
        if target:
            keys.update(import_target(target).keys())
    return tuple(sorted(keys))


def check_settings(name: str, settings: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` naming the valid keys when ``settings`` has a key ``name`` lacks."""
    valid = setting_keys(name)
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise InputError(f"method {name!r}: unknown setting(s) {unknown}; valid ones are {list(valid)}")


def method_preset(name: str, preset: str) -> dict[str, Any]:
    """The settings of method ``name``'s preset ``preset`` (a variant: its base's), as a fresh
    dict; raises with the valid preset names when unknown."""
    presets = _base_spec(name).presets
    if not isinstance(preset, str) or preset not in presets:
        raise InputError(
            f"method {name!r}: unknown preset {preset!r}; choose one of {sorted(presets)}"
            if presets else f"method {name!r} has no presets"
        )
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in presets[preset].items()}


def apply_preset(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` with its ``preset`` (if any) expanded: the preset's settings, then the other
    keys of ``options`` (which win). Without a ``preset`` key: a copy of ``options``."""
    opts = dict(options or {})
    if "preset" not in opts:
        return opts
    return {**method_preset(name, opts.pop("preset")), **opts}


def method_config(name: str, options: Mapping[str, Any] | None, context: MethodContext) -> Any:
    """The typed run config of ``name`` from ``options``: the chosen preset's settings that the
    run config reads (the others are preparation settings), then a variant's overrides, then the
    user's own keys."""
    spec = get_method(name)
    base = _base_spec(name)
    user = dict(options or {})
    cls = import_target(base.config)
    chosen: dict[str, Any] = {}
    if "preset" in user and base.presets:
        run_keys = set(cls.keys()) | set(base.extra_keys)
        chosen = {k: v for k, v in method_preset(name, user.pop("preset")).items() if k in run_keys}
    merged = {**chosen, **dict(spec.overrides), **user}
    return cls.from_options(merged, context)


def run_method(name: str) -> Callable[..., Any]:
    """The run function of ``name`` (a variant's: its base's)."""
    return import_target(_base_spec(name).run)
