"""``partlift pretrain --corpus SRC [SRC ...] --out encoder.safetensors``.

Self-supervised pre-training of the Point-M2AE student encoder (multi-scale masked
autoencoding, :mod:`partlift.distill.pretrain`) on generated shapes (``synthetic:all:N`` = N of
every category, ``synthetic:CAT:N``) and/or folders of shapes. Writes the encoder (safetensors
with its description), ``<out>.log.json``, ``<out>.curve.png``; an interrupted run resumes from
its last finished epoch. Use the result with ``--set partdistill.encoder=<out>`` and the
``point-m2ae`` backbone.
"""

from __future__ import annotations

import argparse
import logging

from partlift.cli.common import add_device_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="self-supervised pre-training of the Point-M2AE student encoder",
        description="Pre-train the point-m2ae student encoder by multi-scale masked autoencoding "
        "on generated shapes (synthetic:all:N, synthetic:CAT:N) and/or folders of shapes.",
    )
    p.add_argument("--corpus", nargs="+", required=True, metavar="SRC",
                   help="synthetic:all:N[:SPLIT[:SEED]], synthetic:CAT:N[...] and/or shape folders")
    p.add_argument("--out", required=True, help="output encoder (.safetensors)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the corpus (default 20)")
    p.add_argument("--batch-size", type=int, default=None, help="clouds per step (default 8)")
    p.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate (default 0.001)")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop after the epoch that passes this much training time (resumable)")
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"],
                   help="storage of the encoder weights (default float16: 25 MB instead of 51 MB)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice")
    p.add_argument("--no-resume", action="store_true", help="start over even if a resume state exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from partlift.distill.pretrain import PretrainConfig, PretrainPaths, load_corpus, pretrain

    changes = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr),
                                 ("time_limit_s", args.time_limit)) if v is not None}
    cfg = PretrainConfig(seed=args.seed).replace(**changes)
    clouds, names = load_corpus(args.corpus, pool_points=cfg.pool_points, seed=cfg.seed,
                                progress=not args.no_progress)
    paths = PretrainPaths.for_output(args.out)
    meta = {"corpus": list(args.corpus), "shapes": len(names)}
    result = pretrain(clouds, cfg, device=args.device, paths=paths, resume=not args.no_resume,
                      progress=not args.no_progress, meta=meta, storage_dtype=args.dtype)
    last = result.log[-1] if result.log else {}
    stopped = " (stopped by the time limit; rerun to continue)" if result.stopped_early else ""
    resumed = f", resumed at epoch {result.resumed_from}" if result.resumed_from else ""
    print(f"pre-trained the point-m2ae encoder on {len(names)} shapes: {len(result.log)} of {cfg.epochs} epochs"
          f"{resumed}, final loss {last.get('loss')}, {result.seconds:.1f}s{stopped}")
    print(f"wrote {paths.out} ({paths.log.name}, {paths.curve.name})")
    return 0
