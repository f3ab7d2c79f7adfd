"""``partlift speed STAGE``: time one stage (or all) and print its figures.

``partlift speed all --json`` prints one JSON object::

    {"device": "cpu"|"cuda", "machine": {...}, "stages": {STAGE: {...figures...}}}

Each stage runs in its own process, so its ``peak_rss_mb`` is its own; a stage that fails or
times out gives ``{"stage", "error"}`` and the others still run. ``--device auto`` (the default)
uses the GPU when torch sees one, so the same command reports GPU figures on a GPU machine.
The rigs and their registry live in :mod:`partlift.bench.speed` (imported when the command
runs). How to read and compare the figures: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from typing import Any

STAGE_TIMEOUT_S = 1800
"""Seconds after which one stage of ``speed all`` is stopped and reported as an error."""


def register(sub: argparse._SubParsersAction) -> None:
    from partlift.bench.speed import list_stages  # the registry only: no rig is imported

    p = sub.add_parser("speed", help="time a stage of the pipeline (speed and peak memory)")
    p.add_argument("stage", help=f"one of {', '.join(list_stages())}, or 'all'")
    p.add_argument("--points", type=int, default=None, help="points per shape (stage default if omitted)")
    p.add_argument("--device", default="auto",
                   help="torch device: auto (default: cuda when available, else cpu), cpu or cuda[:N]")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def resolve(device: str) -> str:
    """``auto`` -> "cuda" when torch sees a GPU, else "cpu"; other values unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def machine(device: str) -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    from partlift import __version__

    info: dict[str, Any] = {
        "partlift": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def _run_one(name: str, args: argparse.Namespace, device: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "partlift", "speed", name, "--json", "--device", device]
    if args.points is not None:
        cmd += ["--points", str(args.points)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=STAGE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"stage": name, "error": f"timed out after {STAGE_TIMEOUT_S} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
        return {"stage": name, "error": tail[0]}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"stage": name, "error": f"unreadable output: {lines[-1][:200]}"}


def run(args: argparse.Namespace) -> int:
    from partlift.bench.speed import list_stages, run_stage

    device = resolve(args.device)
    if args.stage == "all":
        # Each stage runs in its own process so that its peak RSS is its own.
        stages = {}
        for name in list_stages():
            if not args.json:
                print(f"running {name} ...", file=sys.stderr, flush=True)
            stages[name] = _run_one(name, args, device)
        payload: dict[str, Any] = {"device": device, "machine": machine(device), "stages": stages}
    else:
        payload = run_stage(args.stage, args.points, device)
    if args.json:
        print(json.dumps(payload))
    else:
        rows = payload["stages"].values() if args.stage == "all" else [payload]
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0
