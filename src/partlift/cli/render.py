"""``partlift render SHAPE --out DIR``: normalise a shape and write its multi-view PNGs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from partlift.cli.common import add_device_arg
from partlift.cli.outdir import shown_out
from partlift.config import RENDER_PRESETS

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a shape from the camera rig and write view_XX.png")
    p.add_argument("shape", help="point cloud, mesh, or PartNet-E folder <root>/<Category>/<id>/")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--preset", default="partslip", choices=sorted(RENDER_PRESETS),
                   help="render preset (default: partslip, 10 views at 800x800)")
    p.add_argument("--points", type=int, default=None, help="points to sample from a mesh input (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mesh sampling")
    p.add_argument("--maps", action="store_true",
                   help="also write views.npz (pix2point, screen_xy, visible, depth)")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from partlift.io import atomic_write, load_shape
    from partlift.prepare import prepare_shape

    prepared = prepare_shape(load_shape(args.shape, n_points=args.points, seed=args.seed, with_labels=False),
                             args.preset, superpoints=False, normals="render", device=args.device)
    shape, views = prepared.shape, prepared.views
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for v in range(views.n_views):
        with atomic_write(out / f"view_{v:02d}.png") as fh:
            Image.fromarray(views.rgb[v]).save(fh, format="PNG")
    if args.maps:
        with atomic_write(out / "views.npz") as fh:
            np.savez_compressed(fh, pix2point=views.pix2point, screen_xy=views.screen_xy,
                                visible=views.visible, depth=views.depth)
    log.info("wrote %d views of %s to %s", views.n_views, shape.name, out)
    h, w = views.image_size
    print(f"{shape.name}: {views.n_views} views of {w}x{h} ({shape.n_points} points, "
          f"{views.visible.any(axis=0).mean():.1%} visible in some view) -> {shown_out(args)}")
    return 0
