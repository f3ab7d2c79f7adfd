"""``partlift fit-weights --shots DIR --category NAME --out weights.safetensors``: train PartSTAD."""

from __future__ import annotations

import argparse
import json
import logging
import math
from typing import Any

from partlift.cli.common import add_device_arg
from partlift.overrides import add_set_arguments, check_set, parse_set

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-weights",
        help="adapt PartSTAD's vote weights to a category from a few labelled shapes",
        description="Train PartSTAD's weight net and null score (METHODS §3) on labelled shapes of "
        "one category, select the epoch with the best validation mIoU and write the weights "
        "(.safetensors) with a per-epoch JSON log (.log.json) and a training curve (.curve.png). "
        "An interrupted run resumes from its .state.pt file. Use the weights with "
        "`partlift segment SHAPE --method partstad --weights FILE`.",
    )
    p.add_argument("--shots", required=True,
                   help="training shapes: a PartNet-E folder (DIR/<Category>/<id>/ or DIR/<id>/) "
                   "or synthetic:N (N generated shapes of the category)")
    p.add_argument("--category", required=True, help="PartNet-E category, e.g. Chair")
    p.add_argument("--teacher", default="simulated:fewshot", help="teacher name (see `partlift teachers`)")
    p.add_argument("--masks", action=argparse.BooleanOptionalAction, default=None,
                   help="vote with masks (default: when the teacher gives masks)")
    p.add_argument("--val", default=None,
                   help="validation shapes (folder or synthetic:N; default synthetic:8 when the "
                   "category can be generated, else last-epoch selection)")
    p.add_argument("--test", nargs="+", default=None,
                   help="test shape ids or a folder / synthetic:N; validation shapes among them are refused")
    p.add_argument("--preset", default="fast", help="render preset for preparation (default fast)")
    p.add_argument("--points", type=int, default=None, help="points per generated shape (default 10000)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 400)")
    p.add_argument("--seed", type=int, default=0, help="seed of generated shapes, teacher noise and training")
    add_set_arguments(p, "partstad.lr=0.001, partstad.preset=released or partstad.vote={...} (StadConfig fields, presets)")
    p.add_argument("--released-quirks", action="store_true",
                   help="reproduce the released code's view-vector and box w/h quirks (METHODS §3.11)")
    p.add_argument("--no-resume", action="store_true", help="start over even if a resumable state exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="output weights file (.safetensors)")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from partlift.methods import apply_preset
    from partlift.stad.config import StadConfig
    from partlift.stad.fit import FitPaths
    from partlift.stad.fit_weights import DEFAULT_POINTS, fit_weights

    settings = parse_set(args.set, what="fit-weights: --set")
    check_set(settings, ["partstad"], what="fit-weights: --set")
    changes: dict[str, Any] = {"seed": args.seed}
    if args.released_quirks:
        changes["released_quirks"] = True
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    config = StadConfig().replace(**{**apply_preset("partstad", settings.get("partstad", {})), **changes})
    quiet = args.no_progress
    shapes_bar = tqdm(desc="preparing shapes", unit="shape", disable=quiet, leave=False)
    epochs_bar = None

    def on_shape(name: str) -> None:
        shapes_bar.set_postfix_str(name, refresh=False)
        shapes_bar.update(1)

    def on_epoch(record: dict) -> None:
        nonlocal epochs_bar
        if epochs_bar is None:
            shapes_bar.close()
            epochs_bar = tqdm(total=config.epochs, initial=record["epoch"] - 1, desc="training",
                              unit="epoch", disable=quiet)
        val = record.get("val_miou")
        epochs_bar.set_postfix(loss=f"{record['loss']:.3f}",
                               val=f"{100 * val:.1f}" if val is not None else "-", refresh=False)
        epochs_bar.update(1)

    try:
        result = fit_weights(
            shots=args.shots,
            category=args.category,
            out=args.out,
            teacher=args.teacher,
            val=args.val,
            test=args.test,
            config=config,
            masks=args.masks,
            preset=args.preset,
            n_points=args.points or DEFAULT_POINTS,
            seed=args.seed,
            device=args.device,
            resume=not args.no_resume,
            on_shape=on_shape,
            on_epoch=on_epoch,
        )
    finally:
        shapes_bar.close()
        if epochs_bar is not None:
            epochs_bar.close()
    paths = FitPaths.for_weights(args.out)
    val = result.best_val_miou
    meta = result.meta
    print(
        f"{meta['category']}: {len(meta['train_shapes'])} training, {len(meta['val_shapes'])} validation "
        f"shapes; {result.epochs_done} epochs in {result.seconds:.1f}s (+{meta['prepare_seconds']:.1f}s "
        f"preparation); best epoch {result.best_epoch}"
        + (f", validation mIoU {100 * val:.1f}" if not math.isnan(val) else " (no validation: last epoch)")
    )
    print(f"wrote {paths.weights}, {paths.log.name}, {paths.curve.name}")
    log.debug(json.dumps(meta))
    return 0
