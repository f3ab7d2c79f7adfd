"""Realism score of the generated shapes: the sim-to-real gap of a segmenter trained on them.

    python benchmarks/realism.py [--root ROOT ...] [--categories Bottle,Switch | all]
                                 [--train 64] [--test 16] [--steps 300] [--realism v1] [--json OUT]

Per category, a supervised 3D segmenter — the PartDistill student (backbone ``--backbone``,
default ``pointnet``, plus its part head with a "none" output for unlabelled points,
:mod:`partlift.distill.student`) — trains with ground-truth labels and cross-entropy on
generated shapes only (``--train`` shapes of the "collection" split, ``--points``-point
sub-samples, ``--steps`` Adam steps; xyz only, or xyz + colours with ``--rgb``). It is then scored with PartNet-E semantic mIoU (METHODS
§1.6.1, :class:`partlift.metrics.SemanticIoU`) on ``--test`` generated shapes of the "test"
split and on every real shape of that category under the given PartNet-E-layout roots (default:
the real dev shapes). Predictions on a sub-sample are carried back to every point by nearest
neighbour (:func:`partlift.distill.student.predict_shape`). The table prints real mIoU next to
generated-test mIoU; their difference is the sim-to-real gap. Categories default to those with
real shapes under the roots.

CPU-cheap by design (about 20-40 s per category on 2 cores); deterministic given ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from partlift.data import synthetic
from partlift.data.partnete import PartNetEDataset
from partlift.distill.config import DistillConfig
from partlift.distill.student import (
    build_student,
    point_inputs,
    predict_shape,
    student_frame,
    subsample,
)
from partlift.metrics import SemanticIoU


def _real_shapes(roots: list[str]) -> dict[str, list]:
    out: dict[str, list] = {}
    for root in roots:
        ds = PartNetEDataset(root)
        for sid in ds.shape_ids():
            s = ds.load(sid)
            out.setdefault(s.category, []).append(s)
    return out


def _train(category: str, args: argparse.Namespace, cfg: DistillConfig) -> torch.nn.Module:
    names = synthetic.category_parts(category)
    C = len(names)
    shapes = [synthetic.generate(category, synthetic.shape_seed(args.seed, category, i, "collection"),
                                 n_points=args.pool_points, **_gen_kwargs(args))
              for i in range(args.train)]
    xyz = [student_frame(s.xyz) for s in shapes]
    rgb = [s.rgb if args.rgb else None for s in shapes]
    lab = [np.where(s.semantic >= 0, s.semantic, C).astype(np.int64) for s in shapes]
    counts = np.bincount(np.concatenate(lab), minlength=C + 1).astype(np.float64)
    weight = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    weight = weight / weight[counts > 0].mean()
    weight[counts == 0] = 0.0
    net = build_student(C, cfg, seed=args.seed)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps, eta_min=args.lr * 0.01)
    loss_f = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight, dtype=torch.float32))
    rng = np.random.default_rng(args.seed)
    net.train()
    for _ in range(args.steps):
        pick = rng.choice(len(shapes), size=args.batch, replace=len(shapes) < args.batch)
        xs, ys, fs = [], [], []
        for k in pick:
            idx = subsample(len(xyz[k]), cfg.n_points, rng)
            p = xyz[k][idx] * rng.uniform(0.8, 1.2, size=3).astype(np.float32)  # anisotropic scale
            p = p + np.clip(rng.normal(0, 0.01, p.shape), -0.02, 0.02).astype(np.float32)
            p = p / max(float(np.linalg.norm(p, axis=1).max()), 1e-6)
            xs.append(p)
            ys.append(lab[k][idx])
            fs.append(point_inputs(p, None if rgb[k] is None else rgb[k][idx], None, cfg))
        x = torch.from_numpy(np.stack(xs))
        f = torch.from_numpy(np.stack(fs))
        logits = net(x, f)
        loss = loss_f(logits.reshape(-1, C + 1), torch.from_numpy(np.stack(ys)).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net


def _gen_kwargs(args: argparse.Namespace) -> dict:
    return {} if args.realism == "v1" else {"realism": args.realism}


def _score(net, shapes, names, use_rgb: bool) -> tuple[float, int]:
    if not shapes:
        return math.nan, 0
    acc = SemanticIoU(names)
    for k, s in enumerate(shapes):
        pred, _ = predict_shape(net, s.xyz, s.rgb if use_rgb else None, seed=k)
        acc.add(pred, s.semantic, name=s.name)
    try:
        return acc.category_miou(), len(shapes)
    except Exception:  # no part of the category in any GT
        return math.nan, len(shapes)


def main() -> None:
    default_root = Path(__file__).resolve().parents[2] / "shared" / "data" / "partnete_real_dev"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", action="append", help=f"PartNet-E-layout root of real shapes (repeatable; default {default_root})")
    ap.add_argument("--categories", default="", help="comma-separated categories, or 'all' (default: those with real shapes)")
    ap.add_argument("--train", type=int, default=64, help="generated training shapes per category")
    ap.add_argument("--test", type=int, default=16, help="generated test shapes per category")
    ap.add_argument("--steps", type=int, default=300, help="Adam steps per category")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--points", type=int, default=2048, help="points per training sub-sample and per prediction")
    ap.add_argument("--pool-points", type=int, default=8192, help="points sampled per generated training shape")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--backbone", default="pointnet")
    ap.add_argument("--realism", default="v1", help="generator realism version (v1 = the default shapes)")
    ap.add_argument("--rgb", action="store_true", help="also feed point colours to the student (default: xyz only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the table as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    roots = args.root or [str(default_root)]
    real = _real_shapes(roots)
    if args.categories == "all":
        cats = synthetic.list_categories()
    elif args.categories:
        cats = [c.strip() for c in args.categories.split(",") if c.strip()]
    else:
        cats = sorted(c for c in real if c in synthetic.list_categories())
    cfg = DistillConfig(backbone=args.backbone, n_points=args.points, null_class=True, use_rgb=args.rgb)
    rows = []
    print(f"realism {args.realism}, backbone {args.backbone}{' + rgb' if args.rgb else ''}, "
          f"{args.train} train / {args.test} test shapes, "
          f"{args.steps} steps, roots {roots}")
    print(f"{'category':<18} {'real':>4} {'real mIoU':>9} {'gen mIoU':>9} {'gap':>6} {'sec':>5}")
    for cat in cats:
        t0 = time.time()
        net = _train(cat, args, cfg)
        names = synthetic.category_parts(cat)
        test = [synthetic.generate(cat, synthetic.shape_seed(args.seed, cat, i, "test"), n_points=10000,
                                   **_gen_kwargs(args)) for i in range(args.test)]
        gen_miou, _ = _score(net, test, names, args.rgb)
        real_miou, n_real = _score(net, real.get(cat, []), names, args.rgb)
        row = {"category": cat, "n_real": n_real, "real_miou": real_miou * 100, "gen_miou": gen_miou * 100,
               "gap": (gen_miou - real_miou) * 100, "seconds": time.time() - t0}
        rows.append(row)
        print(f"{cat:<18} {n_real:>4} {row['real_miou']:>9.1f} {row['gen_miou']:>9.1f} {row['gap']:>6.1f} {row['seconds']:>5.0f}",
              flush=True)
    with_real = [r for r in rows if r["n_real"] and not math.isnan(r["real_miou"])]
    if with_real:
        print(f"{'mean (real cats)':<18} {sum(r['n_real'] for r in with_real):>4} "
              f"{np.mean([r['real_miou'] for r in with_real]):>9.1f} {np.mean([r['gen_miou'] for r in with_real]):>9.1f} "
              f"{np.mean([r['gap'] for r in with_real]):>6.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
