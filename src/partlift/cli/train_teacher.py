"""``partlift train-teacher``: train the learned 2D part teacher on renders of generated shapes."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys

from partlift.cli.common import add_device_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-teacher",
        help="train the offline learned teacher on renders of generated shapes",
        description="Render generated shapes of the given categories with partlift's renderer "
        "(10 PartSLIP views + random ones, random colours / uncoloured, point sizes, occlusion), "
        "train a compact category-conditioned U-Net to label their pixels with part names, and "
        "write it as a safetensors checkpoint for `--teacher learned:<out>`. Beside OUT: "
        "<stem>.state.pt (resume: run the same command again), <stem>.log.json and "
        "<stem>.loss.png.",
    )
    p.add_argument("--categories", nargs="+", required=True,
                   help="generator categories, e.g. --categories Bottle Bucket KitchenPot Kettle")
    p.add_argument("--shapes-per-category", type=int, required=True, help="training shapes per category")
    p.add_argument("--out", required=True, help="the teacher file to write (.safetensors)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, the weights and the batches")
    p.add_argument("--steps", type=int, default=3000, help="optimisation steps (default 3000)")
    p.add_argument("--batch-size", type=int, default=8, help="views per step (default 8)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default 2e-3)")
    p.add_argument("--resolution", type=int, default=192, help="working resolution (default 192)")
    p.add_argument("--width", type=int, default=24, help="first-level U-Net channels (default 24)")
    p.add_argument("--crop", type=int, default=None, help="training crop size (default 5/6 of the resolution)")
    p.add_argument("--extra-views", type=int, default=4, help="random views per shape beyond the 10 (default 4)")
    p.add_argument("--eval-shapes", type=int, default=3,
                   help="held-out generated shapes per category for the final 2D mIoU (default 3)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="wall-clock budget for the training steps; stops early and still writes the teacher")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-resume", action="store_true", help="start over even if a matching state exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from partlift.teachers.learned.evaluate import format_report
    from partlift.teachers.learned.train import train_teacher

    if args.threads is not None:
        torch.set_num_threads(max(1, int(args.threads)))
    command = "partlift " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == [
        "train-teacher"] else None
    summary = train_teacher(
        args.categories, args.shapes_per_category, args.out, args.seed,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, resolution=args.resolution,
        width=args.width, crop=args.crop, extra_views=args.extra_views, eval_shapes=args.eval_shapes,
        device=args.device, resume=not args.no_resume, progress=not args.no_progress,
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
        command=command or _command(args),
    )
    if summary["eval"] is not None:
        print(format_report(summary["eval"]))
    print(json.dumps({k: summary[k] for k in ("out", "steps_done", "final_loss", "seconds_training")}))
    return 0


def _command(args: argparse.Namespace) -> str:
    """The equivalent ``partlift train-teacher`` command line of parsed ``args``."""
    parts = ["partlift", "train-teacher", "--categories", *args.categories,
             "--shapes-per-category", str(args.shapes_per_category), "--out", args.out,
             "--seed", str(args.seed), "--steps", str(args.steps), "--batch-size", str(args.batch_size),
             "--lr", repr(args.lr), "--resolution", str(args.resolution), "--width", str(args.width),
             "--extra-views", str(args.extra_views), "--eval-shapes", str(args.eval_shapes)]
    if args.crop is not None:
        parts += ["--crop", str(args.crop)]
    if args.max_minutes is not None:
        parts += ["--max-minutes", repr(args.max_minutes)]
    return " ".join(shlex.quote(p) for p in parts)
