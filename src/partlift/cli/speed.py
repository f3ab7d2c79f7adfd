"""``partlift speed STAGE``: time one stage (or all) and print its figures."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from partlift.speed import list_stages, run_stage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("speed", help="time a stage of the pipeline (speed and peak memory)")
    p.add_argument("stage", help=f"one of {', '.join(list_stages())}, or 'all'")
    p.add_argument("--points", type=int, default=None, help="points per shape (stage default if omitted)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.stage == "all":
        # Each stage runs in its own process so that its peak RSS is its own.
        results = {}
        for name in list_stages():
            cmd = [sys.executable, "-m", "partlift", "speed", name, "--json", "--device", args.device]
            if args.points is not None:
                cmd += ["--points", str(args.points)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                results[name] = {"stage": name, "error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
            else:
                results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        payload: dict = {"stages": results}
    else:
        payload = run_stage(args.stage, args.points, args.device)
    if args.json:
        print(json.dumps(payload))
    else:
        rows = payload["stages"].values() if args.stage == "all" else [payload]
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0
