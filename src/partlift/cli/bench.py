"""``partlift bench``: run methods on a dataset and write results.json, report.md and plots."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from partlift.errors import UnavailableError
from partlift.overrides import add_set_arguments, check_set, parse_set

EXAMPLES = """examples:
  partlift bench --dataset synthetic --categories Chair Table --count 3 --methods partslip \\
      --teacher simulated:zeroshot --preset fast --out out/bench-demo
  partlift bench --dataset partnete --root ../shared/data/partnete_real_dev \\
      --methods partslip partstad --shots synthetic:8 --teacher simulated:fewshot --out out/bench-dev
  partlift bench --dataset synthetic --categories Chair --count 4 --methods partslip --sweep 0 0.5 1 2 \\
      --preset fast --out out/sweep
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark methods on PartNet-E, ShapeNetPart or generated shapes (resumable)",
        description="Run each method on each test shape (preparing PartSTAD weights / PartDistill "
        "students per category on few-shot or collection shapes, never on test shapes), resume an "
        "interrupted run, and write results.json, details.json, report.md and plots/ into --out.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, choices=["partnete", "shapenetpart", "synthetic"])
    p.add_argument("--root", metavar="DIR", help="dataset folder (partnete: any PartNet-E layout; shapenetpart)")
    p.add_argument("--split", help="split to evaluate (default: test where the layout has one, else all shapes)")
    p.add_argument("--categories", nargs="+", metavar="CAT", help="categories (default: all found; "
                   "synthetic: required)")
    p.add_argument("--count", type=int, metavar="N", help="synthetic: test shapes per category (default 3); "
                   "real data: at most N test shapes per category")
    p.add_argument("--methods", nargs="+", default=["partslip"], metavar="METHOD",
                   help="methods: partslip partstad partdistill partdistill-tta, or the ablation rows "
                   "partstad-box partstad-nullonly partdistill-forward partdistill-tta-forward, and "
                   "partdistill-pre-tta (pre-aligned, then aligned on each shape) (default: partslip)")
    p.add_argument("--teacher", default="simulated:zeroshot", help="teacher spec (default: simulated:zeroshot)")
    p.add_argument("--teacher-mode", default=None, choices=["box", "mask", "pixel"],
                   help="simulated or learned teacher output: box (B-VLM), pixel (P-VLM) or mask "
                        "(default: the teacher's own)")
    p.add_argument("--shots", metavar="SRC", help="few-shot shapes for PartSTAD: DIR, synthetic:N or root:K "
                   "(K per category taken from --root and excluded from evaluation)")
    p.add_argument("--collection", default="synthetic:8", metavar="SRC",
                   help="PartDistill pre-alignment collection: synthetic:N (default 8), root:K or DIR")
    p.add_argument("--preset", default="partslip", help="render preset: partslip (default), fast, tiny")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda[:N]")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--points", type=int, default=30000, help="points per generated shape (default 30000)")
    p.add_argument("--stad-epochs", type=int, metavar="N", help="PartSTAD epochs per category (default 400)")
    add_set_arguments(p, "partstad.masks=false, partslip.region=mask or partdistill.preset=tiny; superpoints.preset=partslip for PartSLIP's own superpoints")
    p.add_argument("--sweep", nargs="*", type=float, metavar="LEVEL",
                   help="noise sweep of the simulated teacher over these levels (default 0 0.25 0.5 0.75 1 1.5 2)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="distribute shapes over Ray (local instance without ADDRESS); needs partlift[ray]")
    p.add_argument("--fresh", action="store_true", help="delete a previous run's results in --out first")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def parse_options(items: list[str], stad_epochs: int | None) -> dict[str, dict[str, Any]]:
    """``["partstad.masks=false"]`` -> ``{"partstad": {"masks": False}}`` (:mod:`partlift.overrides`);
    sections are method names and ``superpoints``, keys their settings; unknown ones are an
    InputError."""
    from partlift.methods import list_methods

    out = parse_set(items, what="bench: --set")
    check_set(out, [*list_methods(), "superpoints"], what="bench: --set")
    if stad_epochs is not None:
        out.setdefault("partstad", {})["epochs"] = int(stad_epochs)
    return out


def settings_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~partlift.bench.settings.BenchSettings` of parsed arguments."""
    from partlift.bench.settings import BenchSettings

    options = parse_options(args.set, args.stad_epochs)
    return BenchSettings(
        dataset=args.dataset, out=args.out, root=args.root, split=args.split,
        categories=tuple(args.categories) if args.categories else None, count=args.count,
        methods=tuple(args.methods), teacher=args.teacher, teacher_mode=args.teacher_mode,
        shots=args.shots, collection=args.collection,
        preset=args.preset, device=args.device, seed=args.seed, points=args.points,
        superpoints=options.pop("superpoints", {}), options=options,
    )


def _print_results(results: dict[str, Any], out: str) -> None:
    print(f"{'method':<18} {'mIoU':>6} {'mAP50':>6} {'shapes':>6} {'s/shape':>8}")
    for m, r in results["methods"].items():
        n = sum(v["n_shapes"] for v in r["per_category"].values())
        miou = "-" if r["miou"] is None else f"{r['miou']:.1f}"
        ap = "-" if r["map50"] is None else f"{r['map50']:.1f}"
        sps = "-" if r["seconds_per_shape"] is None else f"{r['seconds_per_shape']:.2f}"
        print(f"{m:<18} {miou:>6} {ap:>6} {n:>6} {sps:>8}")
    from partlift.bench.store import skip_lines

    for line in skip_lines(out):  # after the progress bar, where a warning would be lost
        print(line)
    print(f"wrote {out}/results.json, {out}/report.md and {out}/plots/")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.ray is not None:
        from partlift.bench.ray_backend import ray_status

        ok, reason = ray_status()
        if not ok:
            raise UnavailableError(reason)
    if args.sweep is not None:
        from partlift.bench.sweep import run_sweep

        try:
            sweep = run_sweep(settings, args.sweep, progress=not args.no_progress, ray_address=args.ray,
                              fresh=args.fresh)
        except KeyboardInterrupt:
            print(f"partlift bench: interrupted; run the same command again to resume ({args.out})",
                  file=sys.stderr)
            return 130
        levels = sweep["levels"]
        print("noise   " + " ".join(f"{x:>6g}" for x in levels))
        for m, v in sweep["methods"].items():
            print(f"{m:<8}" + " ".join("     -" if x is None else f"{x:6.1f}" for x in v["miou"]))
        print(f"wrote {args.out}/sweep.json, {args.out}/report.md and {args.out}/plots/noise_sweep.png")
        return 0
    from partlift.bench.runner import run_bench

    try:
        results = run_bench(settings, progress=not args.no_progress, ray_address=args.ray, fresh=args.fresh)
    except KeyboardInterrupt:
        print(f"partlift bench: interrupted; finished shapes are kept in {args.out} — run the same "
              "command again to resume", file=sys.stderr)
        return 130
    _print_results(results, args.out)
    return 0
