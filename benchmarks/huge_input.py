"""Huge inputs (issue 13, item 4): wall time and peak memory of ``partlift segment`` on N points.

Writes a labelled cloud of N points (a generated chair sampled densely: a PartNet-E shape folder
with a float32 binary pc.ply, label.npy and info.json),
runs ``python -m partlift segment`` on it in a subprocess, and prints one JSON line: points,
seconds, peak RSS of the child (GiB), the exit status, and what summary.json says about the
subset. Usage::

    PYTHONPATH=src python benchmarks/huge_input.py --points 5000000 [--preset partslip]

Report ``uptime`` load beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=5_000_000)
    ap.add_argument("--preset", default="partslip")
    ap.add_argument("--keep", metavar="DIR", help="write the cloud and outputs here (default: a temp folder)")
    args = ap.parse_args()

    from partlift.data.synthetic import generate
    from partlift.io import save_labels, write_ply

    work = Path(args.keep or tempfile.mkdtemp(prefix="partlift-huge-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "Chair" / f"huge_{args.points}"  # a PartNet-E shape folder (labels + info.json)
    cloud = folder / "pc.ply"
    if not cloud.is_file():
        shape = generate("Chair", seed=0, n_points=args.points)
        write_ply(cloud, shape.xyz, rgb=shape.rgb)
        save_labels(folder / "label.npy", shape.semantic, shape.instance)
        (folder / "info.json").write_text(json.dumps({"category": "Chair", "part_names": list(shape.part_names)}))
    out = work / "out"
    cmd = [sys.executable, "-m", "partlift", "segment", str(folder), "--parts", "arm", "back", "leg", "seat",
           "wheel", "--preset", args.preset, "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), check=False)
    seconds = time.perf_counter() - t
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # Linux: KiB
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
    print(json.dumps({
        "points": args.points, "preset": args.preset, "exit": proc.returncode, "seconds": round(seconds, 1),
        "peak_rss_gib": round(peak_gib, 2), "subsample": summary.get("settings", {}).get("subsample"),
        "miou": summary.get("miou"), "load": os.getloadavg()[0],
        "stderr_tail": proc.stderr.strip().splitlines()[-4:],
    }))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
