"""Scale-out of the per-shape loop over a Ray cluster (``partlift bench ... --ray [ADDRESS]``).

Ray is an extra (``pip install 'partlift[ray]'``). Each Ray actor builds the run's segmenter once
and rebuilds the test set from its JSON spec, so shapes are loaded where they are evaluated; only
the per-shape records (a small JSON dict and the label arrays of the scored points) come back to
the driver, which writes them exactly as a serial run does. Preparation (PartSTAD fitting,
PartDistill pre-alignment) happens on the driver before the shapes are distributed.

* ``address`` None/""/"local": start a local Ray instance (one actor per CPU, at most one per
  shape); otherwise connect to the cluster at ``address`` (e.g. ``ray://head:10001`` or
  ``auto``). The workers must be able to import partlift and read the dataset root.
* When the cluster has GPUs, every actor asks for one GPU and runs the teacher (and the renderer,
  and any network) on ``cuda``; otherwise on the run's device.

The results equal a serial run's: the teacher's noise is seeded by the shape, superpoints and
voting are deterministic, and the report reads the records in shape-id order. (Methods that train
per shape with torch — PartDistill TTA — are deterministic for a given device and thread count;
Ray workers run torch with one thread by default.)
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from partlift.errors import UnavailableError

__all__ = ["RAY_HINT", "ray_status", "run_ray", "ShapeWorker"]

logger = logging.getLogger(__name__)

RAY_HINT = "pip install 'partlift[ray]'"


def ray_status() -> tuple[bool, str]:
    """``(available, reason)`` of the Ray backend, without importing ray."""
    if importlib.util.find_spec("ray") is None:
        return False, f"--ray needs Ray, which is not installed: {RAY_HINT}"
    return True, ""


class ShapeWorker:
    """Evaluates shapes in a Ray worker process (used as a Ray actor class).

    Args:
        settings: :meth:`BenchSettings.to_dict` of the run.
        test_spec: :meth:`ShapeSet.spec` of the test set.
        protocol: the metric protocol.
        device: torch device of this worker.
    """

    def __init__(self, settings: dict[str, Any], test_spec: dict[str, Any], protocol: str, device: str) -> None:
        from partlift.bench.datasets import shape_set_from_spec
        from partlift.bench.evaluate import make_segmenter
        from partlift.bench.settings import BenchSettings

        self.settings = BenchSettings.from_dict(settings)
        self.test = shape_set_from_spec(test_spec)
        self.protocol = protocol
        self.segmenter = make_segmenter(self.settings, device)

    def run(self, item: dict[str, Any]) -> dict[str, Any]:
        """Evaluate one work item: ``{"shape_id", "results": [(record, arrays)]}`` or
        ``{"shape_id", "load_error": message}``."""
        from partlift.bench.evaluate import MethodJob, evaluate_shape

        sid = item["shape_id"]
        jobs = [MethodJob(**j) for j in item["jobs"]]
        try:
            shape = self.test.load(sid)
        except Exception as exc:  # recorded by the driver like a serial load error
            return {"shape_id": sid, "load_error": f"{type(exc).__name__}: {exc}"}
        results = evaluate_shape(self.segmenter, shape, sid, item["category"], tuple(item["part_names"]),
                                 jobs, self.protocol)
        return {"shape_id": sid, "results": [(r.record, r.arrays) for r in results]}


def _init_ray(address: str | None) -> tuple[Any, bool]:
    import ray

    if ray.is_initialized():
        return ray, False
    if address in (None, "", "local"):
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return ray, True


def run_ray(plan: Any, work: list[Any], address: str | None, on_result: Callable[[list[Any]], None],
            progress: Any = None) -> None:
    """Evaluate ``work`` (:class:`~partlift.bench.runner.WorkItem`) on Ray actors.

    Raises:
        UnavailableError: Ray is not installed.
    """
    from partlift.bench.evaluate import ShapeResult, load_error_record

    ok, reason = ray_status()
    if not ok:
        raise UnavailableError(reason)
    ray, started = _init_ray(address)
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        cpus = max(1, int(resources.get("CPU", 1)))
        device = "cuda" if gpus else plan.settings.device
        n_actors = max(1, min(len(work), gpus if gpus else cpus))
        actor_cls = ray.remote(num_cpus=1, num_gpus=1 if gpus else 0)(ShapeWorker)
        logger.info("ray: %d actor(s) on %s (cluster: %d CPU, %d GPU)", n_actors, device, cpus, gpus)
        settings = plan.settings.to_dict()
        spec = plan.test.spec()
        actors = [actor_cls.remote(settings, spec, plan.protocol, device) for _ in range(n_actors)]
        pool = ray.util.ActorPool(actors)
        payloads = [{"category": w.category, "shape_id": w.shape_id, "part_names": list(w.part_names),
                     "jobs": [{"method": j.method, "options": j.options, "fingerprint": j.fingerprint,
                              "run_as": j.run_as} for j in w.jobs]}
                    for w in work]
        by_id = {w.shape_id: w for w in work}
        for out in pool.map_unordered(lambda a, p: a.run.remote(p), payloads):
            item = by_id[out["shape_id"]]
            if "load_error" in out:
                logger.warning("cannot load %s: %s", item.shape_id, out["load_error"])
                on_result([ShapeResult(load_error_record(item, j, RuntimeError(out["load_error"])), None) for j in item.jobs])
            else:
                on_result([ShapeResult(rec, arr) for rec, arr in out["results"]])
            if progress is not None:
                progress.set_postfix_str(item.shape_id, refresh=False)
                progress.update(1)
        for a in actors:
            ray.kill(a)
    finally:
        if started:
            ray.shutdown()
