"""The benchmark run: plan (test shapes, preparations), per-shape loop with resume, report.

::

    from partlift.bench import BenchSettings, run_bench
    results = run_bench(BenchSettings(dataset="synthetic", out="out/bench", categories=("Chair",),
                                      count=3, methods=("partslip",), preset="fast"))

Resume: every (method, shape) result is a committed record under ``<out>/shapes`` (see
:mod:`partlift.bench.store`). Running the same command again skips finished records and redoes
only missing ones, so an interrupted run continues where it stopped. The folder remembers the
settings fingerprint of its run (``run.json``); a run with other settings refuses the folder
unless ``fresh=True``. Methods may be added to a finished run. The fingerprint covers settings,
method options, the resolved configuration of prepared methods (a changed PartSTAD / PartDistill
default redoes their preparation and records) and preparation outputs, not the code: after
changing partlift itself, rerun with ``fresh=True`` (``--fresh``) so that no record of the old
code is kept.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partlift.bench.datasets import (
    ShapeSet,
    build_test_set,
    collection_for,
    protocol_of,
    shared_shapes,
    shots_for,
)
from partlift.bench.evaluate import (
    MethodJob,
    ShapeResult,
    evaluate_shape,
    load_error_record,
    make_segmenter,
)
from partlift.bench.preparers import (
    MethodSkipped,
    PrepareRequest,
    method_status,
    needs_source,
    prepare_method,
)
from partlift.bench.settings import BenchSettings
from partlift.bench.store import atomic_write_json, read_json, read_record, write_record
from partlift.errors import InputError
from partlift.methods import base_method
from partlift.teachers.choose import closed_vocabulary, coverage_gap

if TYPE_CHECKING:
    from partlift.pipeline import Segmenter

__all__ = ["Plan", "WorkItem", "check_methods", "plan_run", "run_bench", "claim_folder"]

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"


@dataclass(frozen=True)
class WorkItem:
    """One test shape and the methods still to run on it."""

    category: str
    shape_id: str
    part_names: tuple[str, ...]
    jobs: tuple[MethodJob, ...]


@dataclass(eq=False)
class Plan:
    """What a run evaluates.

    Attributes:
        settings: the run's settings.
        test: the test shapes.
        protocol: "partnete" or "shapenetpart" (metric protocol, METHODS §1.6).
        jobs: {category: [MethodJob]} — the methods prepared for each category.
        skipped: {method: {category: reason}} — methods that cannot run on a category.
        preparation: {method: {category: seconds}} — preparation time per category.
    """

    settings: BenchSettings
    test: ShapeSet
    protocol: str
    jobs: dict[str, list[MethodJob]] = field(default_factory=dict)
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)
    preparation: dict[str, dict[str, float]] = field(default_factory=dict)

    def job(self, method: str, category: str) -> MethodJob | None:
        """The job of ``method`` for ``category`` (None when skipped)."""
        return next((j for j in self.jobs.get(category, []) if j.method == method), None)


def check_methods(methods: tuple[str, ...]) -> None:
    """Refuse names that are not in the method registry (:mod:`partlift.methods`)."""
    from partlift.methods import list_methods

    unknown = [m for m in methods if m not in list_methods()]
    if unknown:
        raise InputError(f"bench: unknown method(s) {unknown}; choose from {list_methods()}")


LOCK_FILE = ".lock"  # held by the running `partlift bench` (partlift.cli.outdir.lock_folder)


def claim_folder(settings: BenchSettings, fresh: bool = False) -> Path:
    """Make ``settings.out`` this run's folder; refuse one holding a run with other settings
    that recorded results (one that recorded none is taken over).

    With ``fresh`` a previous run's results in the folder (``shapes/``, ``prepared/``, reports)
    are deleted first — only when the folder is a benchmark folder (it has ``run.json``).
    """
    out = Path(settings.out)
    run_file = out / RUN_FILE
    info = read_json(run_file)
    if run_file.exists() and fresh:
        for name in ("shapes", "prepared", "plots", "sweep"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in ("results.json", "details.json", "report.md", "sweep.json", RUN_FILE):
            (out / name).unlink(missing_ok=True)
        info = None
    elif isinstance(info, dict) and info.get("fingerprint") != settings.fingerprint() and _has_results(out):
        raise InputError(
            f"bench: {out} holds a run with other settings (dataset, teacher, shots, preset, seed, ...); "
            "use another --out, or --fresh to delete that run's results and start over"
        )
    elif out.is_dir() and any(p.name != LOCK_FILE for p in out.iterdir()) and not isinstance(info, dict):
        raise InputError(
            f"bench: {out} exists and is not a benchmark folder (no {RUN_FILE}); choose an empty or new --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_file, {"fingerprint": settings.fingerprint(), "settings": settings.result_key()})
    return out


_SOURCE_FLAGS = {"shots": ("--shots", "DIR, --shots synthetic:N or --shots root:K"),
                 "collection": ("--collection", "synthetic:N, root:K or a folder")}


def check_runnable(settings: BenchSettings) -> None:
    """Refuse, before any work, a method that cannot run on any category at all.

    A method that is not available in this build, or that needs few-shot shapes (PartSTAD) or a
    collection (PartDistill) when no source was given, would be skipped everywhere after the
    other methods' work, with the warning lost behind the progress bar (issue 13, item 11).
    Per-category skips (a category without shots) stay skips, reported after the run.
    """
    check_methods(settings.methods)
    for method in settings.methods:
        ok, reason = method_status(method)
        if not ok:
            raise InputError(f"bench: {method} cannot run: {reason}; drop it from --methods")
        need = needs_source(method)
        if need and getattr(settings, need) is None:
            flag, forms = _SOURCE_FLAGS[need]
            raise InputError(
                f"bench: {method} needs {'few-shot shapes' if need == 'shots' else 'a collection'} "
                f"and none was given: pass {flag} {forms}, or drop {method} from --methods"
            )


def _has_results(out: Path) -> bool:
    """True when a run in ``out`` recorded anything (a shape record or a preparation).

    A run that failed before recording anything (a bad ``--root``) does not pin its settings:
    the corrected command takes the folder over without ``--fresh``.
    """
    return any(p.is_file() for name in ("shapes", "prepared") for p in (out / name).rglob("*"))


def plan_run(settings: BenchSettings, segmenter: Segmenter | None = None, progress: bool = False) -> Plan:
    """Build the test set and prepare every method for every category (never on test shapes).

    Args:
        settings: the run's settings.
        segmenter: the run's segmenter for preparations (built on demand when None).
        progress: show a tqdm bar over the (category, method) preparations.

    Raises:
        InputError: unknown methods, bad dataset paths or options.
    """
    check_methods(settings.methods)
    test, root_shots, root_reasons = build_test_set(settings)
    plan = Plan(settings, test, protocol_of(test.kind))
    holder: dict[str, Any] = {"seg": segmenter}

    def get_segmenter() -> Any:
        if holder["seg"] is None:
            holder["seg"] = make_segmenter(settings)
        return holder["seg"]

    from tqdm import tqdm

    out = Path(settings.out)
    pairs = [(cat, m) for cat in test.categories() for m in settings.methods]
    with tqdm(pairs, desc="prepare", unit="method", disable=not progress, dynamic_ncols=True) as bar:
        for cat, method in bar:
            bar.set_postfix_str(f"{method} {cat}", refresh=False)
            plan.jobs.setdefault(cat, [])
            reason = _prepare_one(plan, method, cat, test.part_names(cat), root_shots, root_reasons, out,
                                  get_segmenter)
            if reason is not None:
                plan.skipped.setdefault(method, {})[cat] = reason
                logger.warning("%s skipped for %s: %s", method, cat, reason)
    return plan


def _prepare_one(plan: Plan, method: str, cat: str, names: tuple[str, ...], root_shots: ShapeSet | None,
                 root_reasons: dict[str, str], out: Path, get_segmenter: Callable[[], Any]) -> str | None:
    """Prepare ``method`` for ``cat`` and add its job; return a skip reason instead when it cannot run."""
    settings = plan.settings
    ok, reason = method_status(method)
    if not ok:
        return reason
    if closed_vocabulary(settings.teacher):  # the learned teacher: categories and parts it knows
        gap = coverage_gap(getattr(get_segmenter(), "teacher", None), cat, names)
        if gap is not None:
            return gap
    need = needs_source(method)
    shots = collection = None
    if need == "shots":
        src = shots_for(cat, settings, root_shots, root_reasons)
        if isinstance(src, str):
            return src
        shots = src
    elif need == "collection":
        src = collection_for(cat, settings, root_shots)
        if isinstance(src, str):
            return src
        collection = src
    for source in (shots, collection):
        if source is not None:
            shared = shared_shapes(source, plan.test, cat)
            if shared:
                return (f"its {source.role} shapes include {len(shared)} test shape(s) (e.g. {shared[:2]}); "
                        "preparation must not see test shapes — use --shots root:K or another folder")
    req = PrepareRequest(method, cat, names, shots, collection, settings,
                         out / "prepared" / method / cat, get_segmenter)
    try:
        options, prep_fp, seconds = prepare_method(req)
    except MethodSkipped as exc:
        return str(exc)
    except InputError:
        raise
    except Exception as exc:  # a failed fit skips the method for the category, the run goes on
        logger.debug("traceback", exc_info=True)
        return f"preparation failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    plan.jobs[cat].append(MethodJob(method, options, settings.method_fingerprint(method, prep_fp),
                                    base_method(method)))
    plan.preparation.setdefault(method, {})[cat] = round(seconds, 3)
    return None


def pending_work(plan: Plan) -> tuple[list[WorkItem], int]:
    """Test shapes with methods still to run, and the number of shapes already complete."""
    out = Path(plan.settings.out)
    work, done = [], 0
    for cat in plan.test.categories():
        names = plan.test.part_names(cat)
        for sid in plan.test.ids(cat):
            todo = tuple(j for j in plan.jobs.get(cat, []) if read_record(out, j.method, sid, j.fingerprint) is None)
            if todo:
                work.append(WorkItem(cat, sid, names, todo))
            else:
                done += 1
    return work, done


def run_serial(plan: Plan, work: list[WorkItem], segmenter: Segmenter, on_result: Callable[[list[ShapeResult]], None],
               progress: Any = None) -> None:
    """Evaluate ``work`` one shape at a time in this process."""
    for item in work:
        if progress is not None:
            progress.set_postfix_str(item.shape_id, refresh=False)
        try:
            shape = plan.test.load(item.shape_id)
        except Exception as exc:  # an unreadable shape is recorded for every method
            logger.warning("cannot load %s: %s", item.shape_id, exc)
            on_result([ShapeResult(load_error_record(item, j, exc), None) for j in item.jobs])
        else:
            on_result(evaluate_shape(segmenter, shape, item.shape_id, item.category, item.part_names,
                                     item.jobs, plan.protocol))
        if progress is not None:
            progress.update(1)


def run_bench(
    settings: BenchSettings,
    *,
    progress: bool = True,
    ray_address: str | None = None,
    fresh: bool = False,
) -> dict[str, Any]:
    """Run a benchmark and write results.json, details.json, report.md and plots into ``settings.out``.

    Args:
        settings: what to evaluate.
        progress: show a tqdm progress bar (stderr).
        ray_address: distribute shapes over Ray: "" or "local" = a local Ray instance, else a
            cluster address; None = serial in this process.
        fresh: delete a previous run's results in ``settings.out`` first.

    Returns:
        the results.json content.
    """
    from tqdm import tqdm

    from partlift.bench.report import write_report

    check_runnable(settings)
    out = claim_folder(settings, fresh)
    segmenter = make_segmenter(settings)
    plan = plan_run(settings, segmenter, progress=progress)
    work, done = pending_work(plan)
    total = done + len(work)
    if done:
        logger.info("resuming: %d of %d shapes already done", done, total)

    def commit(results: list[ShapeResult]) -> None:
        for r in results:
            write_record(out, r.record, r.arrays)

    bar = tqdm(total=total, initial=done, desc="bench", unit="shape", disable=not progress, dynamic_ncols=True)
    try:
        if ray_address is not None and work:
            from partlift.bench.ray_backend import run_ray

            run_ray(plan, work, ray_address, commit, bar)
        else:
            run_serial(plan, work, segmenter, commit, bar)
    finally:
        bar.close()
    return write_report(plan)
