"""Per-category preparation of methods: fit PartSTAD weights, pre-align PartDistill students.

A method's preparation is named in its registry entry (:attr:`partlift.methods.MethodSpec.prepare`,
``"module:function"``, imported on use)::

    prepare(request: PrepareRequest) -> dict   # the method_options for the category's shapes

and what it needs (``"shots"`` or ``"collection"``) in :attr:`~partlift.methods.MethodSpec.needs`.
A preparer raises :class:`MethodSkipped` with a reason when it cannot prepare the category (no
few-shot shapes, too few usable shapes, the method's module is not installed); the runner then
skips that method for that category and reports the reason. Preparation never sees test shapes:
the runner refuses a few-shot or collection set that shares shapes with the test set.

Results are cached under ``<out>/prepared/<method>/<Category>/``: ``prepared.json`` records the
fingerprint of the inputs, the options and the seconds spent, so a resumed run reuses finished
preparations (and PartSTAD's own training state resumes an interrupted fit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partlift.bench.datasets import ShapeSet
from partlift.bench.settings import BenchSettings
from partlift.bench.store import atomic_write_json, read_json
from partlift.errors import InputError, PartliftError
from partlift.keys import content_key, file_digest
from partlift.methods import apply_preset, base_method, get_method, import_target

__all__ = [
    "MethodSkipped",
    "PrepareRequest",
    "needs_source",
    "method_status",
    "prepare_method",
    "prepare_partstad",
    "prepare_partdistill",
    "prepare_partdistill_tta",
    "distill_config",
    "resolved_config",
    "file_digest",
]

logger = logging.getLogger(__name__)


class MethodSkipped(PartliftError):
    """A method cannot run on a category; the message is the reason shown in the report."""


@dataclass(frozen=True, eq=False)
class PrepareRequest:
    """What a preparer gets.

    Attributes:
        method: the method name.
        category: the category to prepare.
        part_names: its part names (index = label id).
        shots: the category's labelled few-shot shapes (or None).
        collection: the category's collection for pre-alignment (or None).
        settings: the run's settings (``settings.method_options(method)`` holds its options).
        workdir: a folder of its own, ``<out>/prepared/<method>/<Category>/``.
        make_segmenter: builds the run's segmenter (same teacher, preset, seed, device).
    """

    method: str
    category: str
    part_names: tuple[str, ...]
    shots: ShapeSet | None
    collection: ShapeSet | None
    settings: BenchSettings
    workdir: Path
    make_segmenter: Callable[[], Any]


def needs_source(method: str) -> str | None:
    """The shape source ``method``'s preparation needs: "shots" (labelled), "collection" or None."""
    needs = get_method(base_method(method)).needs
    return next((n for n in ("shots", "collection") if n in needs), None)


def method_status(method: str) -> tuple[bool, str]:
    """``(runnable, reason)``: the method's module can be imported in this build."""
    spec = get_method(base_method(method))
    try:
        import_target(spec.run)
    except ImportError as exc:
        return False, f"method {spec.name!r} is not available in this build ({exc})"
    return True, ""


def _digest(obj: Any) -> str:
    return content_key(obj, length=16)


def _source_spec(s: ShapeSet | None, category: str) -> Any:
    return None if s is None else {"spec": s.spec(), "ids": list(s.ids(category))}


def resolved_config(req: PrepareRequest) -> dict[str, Any] | None:
    """The method's full configuration, defaults resolved (None for methods without one).

    It enters the preparation key, so that a changed default (e.g. the PartDistill student) makes a
    resumed run redo the preparation instead of reusing one made with the old default.
    """
    base = base_method(req.method)
    if base in ("partdistill", "partdistill-tta"):
        return distill_config(req).to_dict()
    if base == "partstad":
        try:
            from partlift.stad.config import StadConfig
        except ImportError:
            return None
        opts = apply_preset(req.method, req.settings.method_options(req.method))
        try:
            return StadConfig(**{"seed": req.settings.seed, **opts}).to_dict()
        except TypeError:
            return None  # unknown options: prepare_partstad reports them
    return None


def prepare_method(req: PrepareRequest) -> tuple[dict[str, Any], str, float]:
    """Prepare ``req.method`` for ``req.category`` (or reuse a finished preparation).

    Returns:
        (method_options, preparation fingerprint, seconds spent preparing — from the cache file
        when reused).

    Raises:
        MethodSkipped: the method cannot run on this category (the reason is the message).
    """
    target = get_method(base_method(req.method)).prepare
    need = needs_source(req.method)
    if not target:
        return req.settings.method_options(req.method), "", 0.0
    inputs = {
        "method": req.method,
        "category": req.category,
        "part_names": list(req.part_names),
        "shots": _source_spec(req.shots, req.category) if need == "shots" else None,
        "collection": _source_spec(req.collection, req.category) if need == "collection" else None,
        "settings": req.settings.result_key(),
        "options": req.settings.method_options(req.method),
        "config": resolved_config(req),
    }
    key = _digest(inputs)
    info_path = req.workdir / "prepared.json"
    info = read_json(info_path)
    if isinstance(info, dict) and info.get("key") == key:
        if info.get("status") == "skipped":
            raise MethodSkipped(info.get("reason", "skipped"))
        if info.get("status") == "ok" and _outputs_exist(info.get("options", {})):
            logger.info("%s %s: reusing the preparation in %s", req.method, req.category, req.workdir)
            return dict(info["options"]), info["fingerprint"], float(info.get("seconds", 0.0))
    fn = import_target(target)
    req.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        options = dict(fn(req))
    except MethodSkipped as exc:
        atomic_write_json(info_path, {"key": key, "status": "skipped", "reason": str(exc)})
        raise
    seconds = time.perf_counter() - t0
    fingerprint = _digest([key, {k: file_digest(v) if _is_file(v) else v for k, v in sorted(options.items())}])
    atomic_write_json(info_path, {"key": key, "status": "ok", "options": options, "fingerprint": fingerprint,
                                  "seconds": round(seconds, 3), "inputs": inputs})
    return options, fingerprint, seconds


def _is_file(v: Any) -> bool:
    return isinstance(v, str) and Path(v).is_file()


def _outputs_exist(options: dict[str, Any]) -> bool:
    return all(Path(v).exists() for k, v in options.items() if k in ("weights", "student") and isinstance(v, str))


def _check_options(method: str, options: dict[str, Any], allowed: set[str]) -> None:
    bad = sorted(set(options) - allowed)
    if bad:
        raise InputError(f"bench: unknown {method} option(s) {bad}; valid: {sorted(allowed)}")


# --------------------------------------------------------------------------------- PartSTAD


def prepare_partstad(req: PrepareRequest) -> dict[str, Any]:
    """Fit one category's PartSTAD weight net on its few-shot shapes (METHODS §3.6).

    Options (``settings.options["partstad"]``): any :class:`~partlift.stad.config.StadConfig`
    field (``epochs``, ``masks``, ``weights``, ...). No validation shapes are used: the protocol
    trains a fixed number of epochs and keeps the last one (the released code selects on 8 test
    shapes, METHODS §3.11.6, which a benchmark must not do).

    Returns:
        ``{"weights": <path of the safetensors checkpoint>}``.
    """
    try:
        from partlift.stad.config import StadConfig
        from partlift.stad.fit import MIN_TRAIN_SHAPES, fit_category, prepare_shapes
    except ImportError as exc:
        raise MethodSkipped(f"partlift.stad is not available ({exc})") from None
    if req.shots is None:
        raise MethodSkipped("no few-shot shapes")
    opts = apply_preset(req.method, req.settings.method_options(req.method))
    fields = set(StadConfig.__dataclass_fields__)
    _check_options("partstad", opts, fields)
    config = StadConfig(**{"seed": req.settings.seed, **opts})
    seg = req.make_segmenter()
    shapes = (req.shots.load(s) for s in req.shots.ids(req.category))
    train = prepare_shapes(seg, shapes, req.part_names, config, role="training")
    if len(train) < MIN_TRAIN_SHAPES:
        raise MethodSkipped(
            f"only {len(train)} of {len(req.shots.ids(req.category))} few-shot shape(s) of "
            f"{req.category} are usable (labelled, with teacher predictions); PartSTAD needs "
            f">= {MIN_TRAIN_SHAPES}"
        )
    weights = req.workdir / f"{req.category}.safetensors"
    meta = {"category": req.category, "part_names": list(req.part_names), "teacher": seg.teacher.name,
            "feature_dim": int(train[0].inputs.shape[1]) - config.encoding_dim}
    fit_category(train, [], config, meta=meta, vote_config=seg.vote_config, device=seg.device, out=weights)
    if not weights.is_file():
        raise MethodSkipped(f"PartSTAD training of {req.category} did not write {weights}")
    return {"weights": str(weights)}


# --------------------------------------------------------------------------------- PartDistill


def distill_config(req: PrepareRequest) -> Any:
    """The DistillConfig of ``settings.options[method]``: ``preset`` (or ``distill_config``: a preset
    name or a dict of fields; default ``"default"``) with the other keys as DistillConfig field
    overrides, seeded by the run."""
    try:
        from partlift.distill.config import DistillConfig
        from partlift.distill.method import method_config
    except ImportError as exc:
        raise MethodSkipped(f"partlift.distill is not available ({exc})") from None
    opts = apply_preset(req.method, req.settings.method_options(req.method))
    base = opts.pop("distill_config", opts.pop("preset", "default"))
    opts.pop("tta", None)  # partdistill-pre-tta: how the student is used, not how it is pre-aligned
    fields = set(DistillConfig.__dataclass_fields__)
    _check_options(req.method, opts, fields)
    return method_config({"distill_config": base}, req.settings.seed).replace(**opts)


def prepare_partdistill_tta(req: PrepareRequest) -> dict[str, Any]:
    """TTA needs no data: resolve the run's DistillConfig into the method's options."""
    return {"distill_config": distill_config(req).to_dict()}


def prepare_partdistill(req: PrepareRequest) -> dict[str, Any]:
    """Pre-align one category's PartDistill student on its collection (METHODS §4.1, §4.6).

    Each collection shape is rendered with the run's preset and given to the run's teacher; its
    teacher knowledge is cached in the work folder (a resumed preparation does not call the teacher
    again) and the student trains with forward + backward distillation (``regime="pre"``),
    resumable through its own state file. Options as :func:`distill_config`.

    Returns:
        ``{"student": <path of the student checkpoint>}``, plus ``"tta": True`` for
        ``partdistill-pre-tta``.
    """
    config = distill_config(req)
    from partlift.distill.align import AlignPaths, align
    from partlift.distill.knowledge import (
        ShapeKnowledge,
        build_knowledge,
        render_for_teacher,
        resolve_region,
    )

    if req.collection is None:
        raise MethodSkipped("no collection shapes")
    seg = req.make_segmenter()
    # Knowledge and students are shared by the partdistill methods of one benchmark folder
    # (partdistill and partdistill-pre-tta pre-align the same student): keyed by everything they
    # depend on, under <out>/prepared/partdistill-shared/<category>/.
    shared = req.workdir.parent.parent / "partdistill-shared" / req.category
    cache = shared / "knowledge"
    salt = _digest([req.settings.result_key(), config.to_dict(), list(req.part_names)])
    knowledge, skipped = [], []
    for sid in req.collection.ids(req.category):
        path = cache / f"{sid.replace('/', '_')}-{salt}.npz"
        know = None
        if path.is_file():
            try:
                know = ShapeKnowledge.load(path)
            except PartliftError:
                know = None
        if know is None:
            shape = req.collection.load(sid)
            norm, views = render_for_teacher(shape, seg.render_config, seg.device)
            preds = seg.predict_views(norm, views, req.part_names)
            region = resolve_region(config.region, getattr(seg.teacher, "kind", None), preds)
            know = build_knowledge(norm, views, preds, config, region=region)
            cache.mkdir(parents=True, exist_ok=True)
            know.save(path)
        if know.is_empty:
            skipped.append(sid)  # the teacher found nothing: not trained on
        else:
            knowledge.append(know)
    if not knowledge:
        raise MethodSkipped(f"the teacher found nothing on any of the {len(skipped)} collection shape(s) of "
                            f"{req.category}")
    ids = list(req.collection.ids(req.category))
    out = shared / f"{req.category}-{_digest([salt, ids])}.student.safetensors"
    meta = {"category": req.category, "teacher": seg.teacher.name, "render_preset": req.settings.preset,
            "collection": {"ids": ids, "skipped": skipped}}
    paths = AlignPaths.for_output(out)
    if out.is_file() and not paths.state.exists():
        logger.info("%s %s: reusing the pre-aligned student %s", req.method, req.category, out)
    else:
        align(knowledge, req.part_names, config, regime="pre", device=seg.device, paths=paths, meta=meta)
    if not out.is_file():
        raise MethodSkipped(f"PartDistill pre-alignment of {req.category} did not write {out}")
    # partdistill-pre-tta (tta=True): the job runs as partdistill, so the flag travels here
    tta = apply_preset(req.method, req.settings.method_options(req.method)).get("tta", False) is True
    return {"student": str(out), **({"tta": True} if tta else {})}
