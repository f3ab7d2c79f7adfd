"""What running the teacher beside the superpoints would save (a measurement, not a feature).

    python benchmarks/teacher_overlap.py --teacher simulated:zeroshot
    python benchmarks/teacher_overlap.py --teacher learned

``prepare_shape`` computes the superpoints in a second thread while the views are rendered; the
teacher then waits for both (``Segmenter.segment``: prepare, then predict). The teacher needs
only the views, so it could run while the superpoints finish. On one generated 100k-point chair
(normals and views computed once, untimed) this prints the median wall time of
``superpoints; teacher`` against ``superpoints || teacher`` (the superpoints in a second thread),
over ``--repeats`` pairs after one warm-up pair. Measurements for a table, never assertions.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from partlift.data import synthetic
from partlift.geometry import normalize, normalize_transform, normals_and_neighbours
from partlift.render import render
from partlift.superpoints import SuperpointConfig, compute_superpoints
from partlift.teachers.registry import build_teacher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="simulated:zeroshot")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    teacher = build_teacher(args.teacher)
    shape = normalize(synthetic.generate("Chair", 0, n_points=args.points)).replace(normals=None)
    unit = normalize_transform(shape.xyz).apply(shape.xyz)
    config = SuperpointConfig()
    normals, table = normals_and_neighbours(unit, table_k=config.k + 1)
    shape = shape.replace(normals=normals)
    views = render(shape, "partslip")
    names = tuple(shape.part_names or ())

    def superpoints() -> np.ndarray:
        return compute_superpoints(shape.xyz, normals=shape.normals, rgb=shape.rgb, config=config, neighbours=table)

    def predict() -> object:
        return teacher.predict(views, names, shape)

    times: dict[str, list[float]] = {"superpoints": [], "teacher": [], "serial": [], "overlapped": []}
    for _ in range(args.repeats + 1):
        t0 = time.perf_counter()
        superpoints()
        t1 = time.perf_counter()
        predict()
        t2 = time.perf_counter()
        with ThreadPoolExecutor(1) as pool:
            job = pool.submit(superpoints)
            predict()
            job.result()
        t3 = time.perf_counter()
        for key, value in (("superpoints", t1 - t0), ("teacher", t2 - t1), ("serial", t2 - t0),
                           ("overlapped", t3 - t2)):
            times[key].append(value)
    print(f"teacher {args.teacher}, {args.points} points, median of {args.repeats} (after 1 warm-up):")
    for key, values in times.items():
        print(f"  {key:12s} {np.median(values[1:]):.3f} s")


if __name__ == "__main__":
    main()
