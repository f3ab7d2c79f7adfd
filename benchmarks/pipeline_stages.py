"""Per-stage timings of the zero-shot preparation, and output snapshots to check a speed-up.

    python benchmarks/pipeline_stages.py time [--points 100000] [--repeats 3]
    python benchmarks/pipeline_stages.py snapshot DIR      # normals, superpoints, renders
    python benchmarks/pipeline_stages.py compare DIR       # this checkout vs a snapshot
    python benchmarks/pipeline_stages.py purity [--preset partslip matched pure]

``time`` prints, for a seeded generated chair (the ``partlift speed superpoints`` input) and the
``partlift speed render`` cloud, the best-of-``repeats`` wall and process CPU seconds of:
normal estimation, the superpoint steps (graph, minimise, merge_small) and the 10-view 800²
render, with the 1-minute load average beside every figure (the development machine is shared).

``snapshot`` stores, for the real dev shapes (``../shared/data/partnete_real_dev``) and a few
generated shapes, the estimated normals, the superpoints and components of the default settings
(normals estimated inside ``compute_superpoints_info``, as ``partlift speed superpoints``) and
the pixel -> point maps of the ``partslip`` render. ``compare`` recomputes them with the code on
``PYTHONPATH`` and reports, per shape, the normal angle differences (``|cos|``: normals are
unoriented up to the outward flip), whether the superpoints are bit-identical and the render
maps identical. ``purity`` prints, per real dev shape and superpoint preset
(``SuperpointConfig.preset``), the count, purity, mIoU bound (``superpoint_miou_bound``) and
the process CPU seconds of ``compute_superpoints_info`` (normals estimated once beforehand).
Measurements for notes and docs, never test assertions.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

GENERATED = (("Chair", 0, 100_000), ("StorageFurniture", 0, 50_000), ("Laptop", 1, 50_000))


def _load() -> float:
    return os.getloadavg()[0]


def _shapes() -> list[tuple[str, object]]:
    from partlift.data import synthetic
    from partlift.geometry import normalize
    from partlift.io import load_shape

    out = []
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "partnete_real_dev"
    for pc in sorted(root.glob("*/*/pc.ply")):
        shape = normalize(load_shape(pc.parent)).replace(normals=None)
        out.append((f"{pc.parent.parent.name}-{pc.parent.name}", shape))
    for cat, seed, n in GENERATED:
        shape = normalize(synthetic.generate(cat, seed, n_points=n)).replace(normals=None)
        out.append((f"gen-{cat}-{seed}-{n}", shape))
    return out


def _outputs(shape: object) -> dict[str, np.ndarray]:
    from partlift.geometry import estimate_normals
    from partlift.prepare import prepare_shape
    from partlift.render import render
    from partlift.superpoints import compute_superpoints_info

    info = compute_superpoints_info(shape.xyz, rgb=shape.rgb)
    normals = estimate_normals(shape.xyz, workers=-1)
    views = render(shape.replace(normals=normals), "partslip", device="cpu")
    prepared = prepare_shape(shape, "partslip")  # the pipeline's path (Segmenter.prepare)
    return {"normals": normals, "superpoints": info.superpoints, "components": info.components,
            "pix2point": views.pix2point.astype(np.int32),
            "prepared_normals": prepared.shape.normals, "prepared_superpoints": prepared.superpoints,
            "prepared_pix2point": prepared.views.pix2point.astype(np.int32)}


def snapshot(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, shape in _shapes():
        np.savez_compressed(out_dir / f"{name}.npz", **_outputs(shape))
        print(name, "saved", flush=True)


def compare(ref_dir: Path) -> None:
    from partlift.superpoints import purity

    print(f"{'shape':<34} {'max deg':>8} {'p99 deg':>8} {'>1deg':>7} {'sp same':>7} {'#sp ref':>7} "
          f"{'#sp new':>7} {'comp same':>9} {'pix same':>8} {'purity ref/new':>15} {'prep same':>9}")
    for name, shape in _shapes():
        ref = np.load(ref_dir / f"{name}.npz")
        new = _outputs(shape)
        a, b = ref["normals"].astype(np.float64), new["normals"].astype(np.float64)
        # arctan2(|a x b|, |a . b|): accurate near 0, unlike arccos of a float32 dot product
        ang = np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.abs((a * b).sum(axis=1))))
        sem = shape.semantic
        pur = f"{purity(ref['superpoints'], sem):.4f}/{purity(new['superpoints'], sem):.4f}" if sem is not None else "-"
        print(f"{name:<34} {ang.max():8.3f} {np.percentile(ang, 99):8.4f} {(ang > 1).mean():7.4f} "
              f"{str(np.array_equal(ref['superpoints'], new['superpoints'])):>7} "
              f"{int(ref['superpoints'].max()) + 1:7d} {int(new['superpoints'].max()) + 1:7d} "
              f"{str(np.array_equal(ref['components'], new['components'])):>9} "
              f"{str(np.array_equal(ref['pix2point'], new['pix2point'])):>8} {pur:>15} "
              f"{str(_prepared_same(ref, new)):>9}", flush=True)


def _prepared_same(ref: object, new: dict[str, np.ndarray]) -> object:
    """Normals, superpoints and render maps of ``prepare_shape`` all bit-identical (None: not in ref)."""
    keys = ("prepared_normals", "prepared_superpoints", "prepared_pix2point")
    if not all(k in ref for k in keys):
        return None
    return all(np.array_equal(ref[k], new[k]) for k in keys)


def purity_table(presets: list[str]) -> None:
    from partlift.geometry import estimate_normals
    from partlift.superpoints import SuperpointConfig, compute_superpoints_info, purity
    from partlift.superpoints.purity import superpoint_miou_bound

    print("| shape | preset | superpoints | purity | mIoU bound | CPU s | load |")
    print("|---|---|---|---|---|---|---|")
    for name, shape in _shapes():
        if name.startswith("gen-"):
            continue
        normals = estimate_normals(shape.xyz, workers=-1)
        for preset in presets:
            c0 = time.process_time()
            info = compute_superpoints_info(shape.xyz, normals=normals, rgb=shape.rgb,
                                            config=SuperpointConfig.preset(preset))
            cpu = time.process_time() - c0
            sp = info.superpoints
            bound = superpoint_miou_bound(sp, shape.semantic, len(shape.part_names))
            print(f"| {name} | {preset} | {info.n_superpoints:,} | {purity(sp, shape.semantic):.3f} | "
                  f"{100 * bound:.1f} | {cpu:.2f} | {_load():.1f} |", flush=True)


def _best(fn, repeats: int) -> tuple[float, float, object]:
    best_wall, best_cpu, result = np.inf, np.inf, None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, result


def time_stages(points: int, repeats: int) -> None:
    from partlift.bench.speed.render import synthetic_cloud
    from partlift.data import synthetic
    from partlift.geometry import estimate_normals, normalize
    from partlift.render import render
    from partlift.superpoints import SuperpointConfig, compute_superpoints_info

    chair = normalize(synthetic.generate("Chair", 0, n_points=points)).replace(normals=None)
    rows = []
    wall, cpu, normals = _best(lambda: estimate_normals(chair.xyz, workers=-1), repeats)
    rows.append(("normals (estimate_normals, workers=-1)", wall, cpu, _load()))
    wall, cpu, info = _best(lambda: compute_superpoints_info(chair.xyz, rgb=chair.rgb), repeats)
    rows.append((f"superpoints, normals estimated ({info.n_superpoints} sp)", wall, cpu, _load()))
    for step, sec in info.seconds.items():
        rows.append((f"  step {step} (last run)", sec, float("nan"), _load()))
    wall, cpu, info = _best(lambda: compute_superpoints_info(chair.xyz, normals=normals, rgb=chair.rgb), repeats)
    rows.append(("superpoints, normals given", wall, cpu, _load()))
    matched = SuperpointConfig.preset("matched")
    wall, cpu, info = _best(lambda: compute_superpoints_info(chair.xyz, normals=normals, rgb=chair.rgb,
                                                             config=matched), repeats)
    rows.append((f"superpoints 'matched', normals given ({info.n_superpoints} sp)", wall, cpu, _load()))
    cloud = synthetic_cloud(points)
    render(cloud, "partslip", device="cpu")
    wall, cpu, _ = _best(lambda: render(cloud, "partslip", device="cpu"), repeats)
    rows.append(("render partslip 10 x 800^2", wall, cpu, _load()))
    print(f"points={points} repeats={repeats} (best wall / best process CPU)")
    for label, wall, cpu, load in rows:
        print(f"{label:<48} wall {wall:7.3f} s  cpu {cpu:7.3f} s  load {load:5.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("--points", type=int, default=100_000)
    t.add_argument("--repeats", type=int, default=3)
    s = sub.add_parser("snapshot")
    s.add_argument("dir", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("dir", type=Path)
    p = sub.add_parser("purity")
    p.add_argument("--preset", nargs="+", default=["partslip", "matched", "pure"])
    args = ap.parse_args()
    if args.cmd == "time":
        time_stages(args.points, args.repeats)
    elif args.cmd == "purity":
        purity_table(args.preset)
    elif args.cmd == "snapshot":
        snapshot(args.dir)
    else:
        compare(args.dir)


if __name__ == "__main__":
    main()
