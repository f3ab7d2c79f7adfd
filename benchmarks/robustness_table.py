"""Run every hostile input / fault of docs/robustness.md and write the table from what happened.

Each case builds its input in a scratch folder, runs ``python -m partlift ...`` in a subprocess
(Ctrl-C cases get SIGINT after a delay), and records the exit status and the first line of the
message (stderr; for a success, its first warning or its last stdout line). Usage::

    PYTHONPATH=src python benchmarks/robustness_table.py [--out docs/robustness.md] [--only WORD]

Takes a few minutes (one interpreter start per case). The table is regenerated, never edited.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    name: str
    args: list[str]
    expect: str  # what the docs promise, in words
    setup: Callable[[Path], None] | None = None
    sigint_after: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    before: list[str] | None = None  # a command run first (its result not shown)
    concurrent: list[str] | None = None  # a command started first and kept running


def _ply_ascii(path: Path, rows: list[str], faces: int | None = None) -> None:
    head = ["ply", "format ascii 1.0", f"element vertex {len(rows)}", "property float x", "property float y",
            "property float z"]
    if faces is not None:
        head += [f"element face {faces}", "property list uchar int vertex_indices"]
    path.write_text("\n".join([*head, "end_header", *rows]) + "\n")


def build_inputs(w: Path) -> None:
    """Every input file the cases read, under ``w``."""
    from partlift.data.synthetic import export_partnete, generate
    from partlift.io import load_shape, save_labels, write_ply

    export_partnete([generate("Chair", seed=5, n_points=5000)], w / "ds")
    chair = next((w / "ds" / "Chair").iterdir())
    shutil.copytree(chair, w / "chair")
    export_partnete([generate("Chair", seed=1, n_points=150_000)], w / "bigds", with_mesh=False)
    shutil.copytree(next((w / "bigds" / "Chair").iterdir()), w / "bigchair")
    shape = load_shape(w / "chair")
    xyz = shape.xyz.astype(np.float64)
    write_ply(w / "chair.ply", xyz, rgb=shape.rgb)
    (w / "empty.ply").write_bytes(b"")
    data = (w / "chair.ply").read_bytes()
    (w / "truncated.ply").write_bytes(data[: len(data) // 2])
    _ply_ascii(w / "zero.ply", [])
    _ply_ascii(w / "one.ply", ["0.1 0.2 0.3"])
    _ply_ascii(w / "nan.ply", ["0 0 0", "1 nan 0", "0 1 1"])
    (w / "inf.xyz").write_text("0 0 0\n1 inf 0\n0 1 1\n")
    _ply_ascii(w / "same.ply", ["0.5 0.5 0.5"] * 50)
    _ply_ascii(w / "emptyfaces.ply", [f"{x} {y} {z}" for x, y, z in np.random.default_rng(0).uniform(size=(300, 3))],
               faces=0)
    (w / "shape.foo").write_text("1 2 3\n")
    (w / "nopc").mkdir()
    bad = w / "badlabels" / "Chair" / "1"
    shutil.copytree(chair, bad)
    save_labels(bad / "label.npy", np.zeros(10, np.int64))
    pick = w / "pickled_labels" / "Chair" / "1"
    shutil.copytree(chair, pick)
    (pick / "label.npy").write_bytes(b"\x93NUMPY garbage that is not an array")
    uni = w / "stühle 椅子" / "Chair"
    shutil.copytree(chair, uni / "1")
    write_ply(w / "far.ply", xyz + 1e6, rgb=shape.rgb)
    far = w / "far" / "Chair" / "1"  # the same labelled chair, 1e6 from the origin (float64 pc.ply)
    shutil.copytree(chair, far)
    write_ply(far / "pc.ply", xyz + 1e6, rgb=shape.rgb)
    near = w / "near" / "Chair" / "1"  # the reference: same folder name, same float64 file, at the origin
    shutil.copytree(chair, near)
    write_ply(near / "pc.ply", xyz, rgb=shape.rgb)
    write_ply(w / "tiny.ply", xyz * 1e-6, rgb=shape.rgb)
    write_ply(w / "huge.ply", xyz * 1e6, rgb=shape.rgb)
    (w / "nan.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv nan 0 1\nf 1 2 3\nf 1 2 4\n")
    (w / "nofaces.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (w / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    (w / "afile.txt").write_text("not a folder")
    (w / "foreign").mkdir()
    (w / "foreign" / "thesis.tex").write_text("precious")
    (w / "adir").mkdir()
    import torch
    from safetensors.torch import save_file

    torch.save({"weights": torch.zeros(3)}, w / "pickled.safetensors")
    save_file({"x": torch.zeros(3)}, str(w / "foreign.safetensors"))
    (w / "text.safetensors").write_text("hello")
    shutil.copytree(chair, w / "copied" / "myshapes" / "1")


def cases(w: Path) -> list[Case]:
    chair, big = str(w / "chair"), str(w / "bigchair")
    o = str(w / "o")
    seg = ["segment", chair, "--preset", "tiny", "--no-sheet", "--out", o]
    fast = ["--preset", "tiny", "--no-sheet"]

    def corrupt_cache(root: Path) -> None:
        cache = root / "cache1"
        subprocess.run([sys.executable, "-m", "partlift", "predict", chair, "--preset", "tiny", "--cache-dir",
                        str(cache), "--out", str(root / "p0")], capture_output=True, check=False, env=_env())
        for f in cache.rglob("*.npz"):
            f.write_bytes(b"garbage")

    def dir_cache(root: Path) -> None:
        cache = root / "cache2"
        subprocess.run([sys.executable, "-m", "partlift", "predict", chair, "--preset", "tiny", "--cache-dir",
                        str(cache), "--out", str(root / "p1")], capture_output=True, check=False, env=_env())
        for f in cache.rglob("*.npz"):
            f.unlink()
            f.mkdir()

    def truncated_bench(root: Path) -> None:
        out = root / "bt"
        subprocess.run([sys.executable, "-m", "partlift", "bench", "--dataset", "partnete", "--root", str(w / "ds"),
                        "--preset", "tiny", "--no-progress", "--out", str(out)], capture_output=True, check=False,
                       env=_env())
        for f in out.rglob("*.npz"):
            f.write_bytes(f.read_bytes()[:60])

    bench_ds = ["bench", "--dataset", "partnete", "--root", str(w / "ds"), "--preset", "tiny", "--no-progress"]
    return [
        Case("missing shape file", ["segment", str(w / "missing.ply"), *fast, "--out", o], "exit 2"),
        Case("empty file (0 bytes)", ["segment", str(w / "empty.ply"), *fast, "--out", o], "exit 2"),
        Case("truncated binary PLY", ["segment", str(w / "truncated.ply"), *fast, "--out", o], "exit 2"),
        Case("PLY with 0 points", ["segment", str(w / "zero.ply"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("PLY with 1 point", ["segment", str(w / "one.ply"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("NaN coordinate", ["segment", str(w / "nan.ply"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("inf coordinate (.xyz)", ["segment", str(w / "inf.xyz"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("all points identical", ["segment", str(w / "same.ply"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("info on a NaN file", ["info", str(w / "nan.ply")], "exit 2"),
        Case("label.npy of the wrong length", ["segment", str(w / "badlabels" / "Chair" / "1"), *fast, "--out", o],
             "exit 2"),
        Case("label.npy corrupt / not an array", ["segment", str(w / "pickled_labels" / "Chair" / "1"), *fast,
                                                 "--out", o], "exit 2"),
        Case("unknown extension", ["segment", str(w / "shape.foo"), *fast, "--out", o], "exit 2"),
        Case("folder without pc.ply", ["segment", str(w / "nopc"), *fast, "--out", o], "exit 2"),
        Case("non-ASCII paths (shape and --out)", ["segment", str(w / "stühle 椅子" / "Chair" / "1"), *fast,
                                                   "--out", str(w / "ausgabe 出力")], "exit 0"),
        Case("offset 1e6, float64 PLY (georeferenced)", ["render", str(w / "far.ply"), "--preset", "tiny", "--out", o],
             "exit 0 (was: 'all points identical')"),
        Case("offset 1e6, labelled folder", ["segment", str(w / "far" / "Chair" / "1"), *fast, "--out", o],
             "exit 0, same labels as at the origin"),
        Case("the same chair at the origin", ["segment", str(w / "near" / "Chair" / "1"), *fast, "--out", o],
             "exit 0 (reference for the row above)"),
        Case("scale 1e-6", ["render", str(w / "tiny.ply"), "--preset", "tiny", "--out", o], "exit 0"),
        Case("scale 1e6", ["render", str(w / "huge.ply"), "--preset", "tiny", "--out", o], "exit 0"),
        Case("OBJ with a NaN vertex", ["segment", str(w / "nan.obj"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("OBJ without faces", ["segment", str(w / "nofaces.obj"), "--parts", "seat", *fast, "--out", o], "exit 2"),
        Case("mesh whose faces all have zero area", ["segment", str(w / "flat.obj"), "--parts", "seat", *fast,
                                                     "--out", o], "exit 2"),
        Case("PLY with an empty face element", ["-v", "info", str(w / "emptyfaces.ply")], "exit 0, logged"),
        Case("unknown part name", [*seg[:2], "--parts", "arm", "back", "flux", *seg[2:]], "exit 2"),
        Case("duplicate part names", [*seg[:2], "--parts", "seat", "seat", *seg[2:]], "exit 2"),
        Case("unknown teacher", [*seg[:2], "--teacher", "gpt-vision", *seg[2:]], "exit 2"),
        Case("HF teacher without weights", [*seg[:2], "--teacher", "grounding-dino", *seg[2:]], "exit 2 in seconds"),
        Case("unknown method", [*seg[:2], "--method", "magic", *seg[2:]], "exit 2 (argparse)"),
        Case("--out /proc/x (cannot be created)", [*seg[:-1], "/proc/x"], "exit 2 before work"),
        Case("--out is an existing file", [*seg[:-1], str(w / "afile.txt")], "exit 2 before work"),
        Case("--out under a file", [*seg[:-1], str(w / "afile.txt" / "sub")], "exit 2 before work"),
        Case("--out holds files partlift did not write", [*seg[:-1], str(w / "foreign")], "exit 2, files kept"),
        Case("--out reused with fewer parts", [*seg[:2], "--parts", "seat", *seg[2:-1], str(w / "reused")],
             "exit 0, only the new run's files", before=[*seg[:-1], str(w / "reused")]),
        Case("render --out is a file", ["render", chair, "--out", str(w / "afile.txt")], "exit 2 before work"),
        Case("synth --out is a file", ["synth", "--category", "Chair", "--out", str(w / "afile.txt")],
             "exit 2 before work"),
        Case("fit-weights --out is a folder", ["fit-weights", "--shots", "synthetic:2", "--category", "Chair",
                                               "--out", str(w / "adir")], "exit 2 before training"),
        Case("corrupt prediction-cache entry", ["predict", chair, "--preset", "tiny", "--cache-dir",
                                                str(w / "cache1"), "--out", o], "exit 0, warned, recomputed",
             setup=corrupt_cache),
        Case("cache entry that is a folder", ["predict", chair, "--preset", "tiny", "--cache-dir", str(w / "cache2"),
                                              "--out", o], "exit 0, warned once", setup=dir_cache),
        Case("PARTLIFT_CACHE_DIR unwritable", ["predict", chair, "--preset", "tiny", "--out", o],
             "exit 0, warned once", env={"PARTLIFT_CACHE_DIR": "/proc/nope"}),
        Case("--weights missing file", [*seg[:2], "--method", "partstad", "--weights", str(w / "none.safetensors"),
                                        *seg[2:]], "exit 2"),
        Case("--weights a pickle (torch.save)", [*seg[:2], "--method", "partstad", "--weights",
                                                 str(w / "pickled.safetensors"), *seg[2:]], "exit 2, never unpickled"),
        Case("--weights a foreign safetensors", [*seg[:2], "--method", "partstad", "--weights",
                                                 str(w / "foreign.safetensors"), *seg[2:]], "exit 2"),
        Case("--weights a text file", [*seg[:2], "--method", "partstad", "--weights", str(w / "text.safetensors"),
                                       *seg[2:]], "exit 2"),
        Case("--student a foreign safetensors", [*seg[:2], "--method", "partdistill", "--student",
                                                 str(w / "foreign.safetensors"), *seg[2:]], "exit 2"),
        Case("copied PartNet-E shape folder", ["segment", str(w / "copied" / "myshapes" / "1"), *fast, "--out", o],
             "exit 0 with mIoU"),
        Case("bench: truncated per-shape .npz", [*bench_ds, "--out", str(w / "bt")], "exit 0, warned, recomputed",
             setup=truncated_bench),
        Case("bench: bad --root, then corrected", [*bench_ds, "--out", str(w / "bb")], "exit 0",
             before=["bench", "--dataset", "partnete", "--root", str(w / "nothere"), "--out", str(w / "bb")]),
        Case("bench: partstad without --shots", [*bench_ds, "--methods", "partslip", "partstad", "--out",
                                                  str(w / "bs")], "exit 2 before work"),
        Case("bench: two runs on one --out", [*bench_ds, "--out", str(w / "bc")], "exit 2 naming the pid",
             concurrent=["bench", "--dataset", "synthetic", "--categories", "Chair", "Table", "--count", "4",
                         "--no-progress", "--out", str(w / "bc")]),
        Case("Ctrl-C in segment (threaded stages)", ["segment", big, "--preset", "fast", "--out", o],
             "exit 130", sigint_after=6.0),
        Case("Ctrl-C in render", ["render", big, "--out", o], "exit 130", sigint_after=2.5),
        Case("Ctrl-C in predict", ["predict", big, "--no-cache", "--out", o], "exit 130", sigint_after=3.5),
        Case("Ctrl-C in bench", ["bench", "--dataset", "synthetic", "--categories", "Chair", "--count", "4",
                                 "--no-progress", "--out", str(w / "bi")], "exit 130, resumable", sigint_after=8.0),
        Case("Ctrl-C in fit-weights", ["fit-weights", "--shots", "synthetic:3", "--category", "Chair", "--no-progress",
                                       "--out", str(w / "fw.safetensors")], "exit 130, resumable", sigint_after=8.0),
        Case("Ctrl-C in distill", ["distill", "--collection", "synthetic:Chair:12", "--no-progress", "--out",
                                   str(w / "st.safetensors")], "exit 130, resumable", sigint_after=5.0),
        Case("Ctrl-C in demo", ["demo", "--categories", "Chair", "Table", "--count", "4", "--out", str(w / "demo")],
             "exit 130", sigint_after=6.0),
        Case("Ctrl-C in synth", ["synth", "--category", "Chair", "--count", "200", "--out", str(w / "syn")],
             "exit 130", sigint_after=5.0),
    ]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONIOENCODING="utf-8")
    env.update(extra or {})
    return env


def _first_line(rc: int, out: str, err: str) -> str:
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    if rc == 130:
        return next((ln for ln in lines if "interrupted" in ln), lines[-1] if lines else "")
    if rc == 0:
        warn = next((ln for ln in lines if ln.startswith(("WARNING", "INFO"))), None)
        outs = [ln.strip() for ln in out.splitlines() if ln.strip()]
        scored = next((ln for ln in outs if "mIoU" in ln and "->" in ln), None)
        return warn or scored or (outs[-1] if outs else "")
    return next((ln for ln in lines if ln.startswith("partlift")), lines[0] if lines else "")


def run_case(case: Case, w: Path) -> dict[str, object]:
    if case.setup:
        case.setup(w)
    env = _env(case.env)
    if case.before:
        subprocess.run([sys.executable, "-m", "partlift", *case.before], capture_output=True, env=env, check=False)
    holder = None
    if case.concurrent:
        holder = subprocess.Popen([sys.executable, "-m", "partlift", *case.concurrent], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env)
        time.sleep(4.0)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "partlift", *case.args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    if case.sigint_after is not None:
        try:
            proc.wait(timeout=case.sigint_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if holder is not None:
            holder.send_signal(signal.SIGINT)
            holder.wait(timeout=120)
    seconds = time.perf_counter() - t
    shown = " ".join(case.args).replace(str(w), "$W")
    message = _first_line(proc.returncode, out, err).replace(str(w), "$W")
    return {"case": case.name, "command": f"partlift {shown}", "exit": proc.returncode, "seconds": round(seconds, 1),
            "message": message, "expect": case.expect, "traceback": "Traceback" in err or "Fatal Python" in err,
            "finished_before_signal": case.sigint_after is not None and seconds < case.sigint_after}


def write_markdown(rows: list[dict[str, object]], path: Path) -> None:
    def cell(s: object) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| # | case | command | exit | first line of the message | promised |",
        "|---|------|---------|------|---------------------------|----------|",
    ]
    for i, r in enumerate(rows, 1):
        msg = cell(r["message"])
        if len(msg) > 260:
            msg = msg[:257] + "..."
        flag = " **(traceback!)**" if r["traceback"] else ""
        flag += " (finished before the signal)" if r["finished_before_signal"] else ""
        lines.append(f"| {i} | {cell(r['case'])} | `{cell(r['command'])}` | {r['exit']} | {msg}{flag} | "
                     f"{cell(r['expect'])} |")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    start, end = "<!-- table:start -->", "<!-- table:end -->"
    table = "\n".join([start, *lines, end])
    if start in text and end in text:
        text = text[: text.index(start)] + table + text[text.index(end) + len(end):]
    else:
        text = text + "\n" + table + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "robustness.md"))
    ap.add_argument("--json", default=None, help="also write the raw rows as JSON here")
    ap.add_argument("--only", default=None, help="run only cases whose name contains this (with --json of a "
                    "full run: refresh those rows in it and in the table)")
    args = ap.parse_args()
    w = Path(tempfile.mkdtemp(prefix="partlift-robust-"))
    try:
        build_inputs(w)
        rows = []
        for case in cases(w):
            if args.only and args.only not in case.name:
                continue
            shutil.rmtree(w / "o", ignore_errors=True)
            row = run_case(case, w)
            rows.append(row)
            print(f"{row['exit']:>4}  {row['seconds']:>6}s  {row['case']}: {row['message'][:110]}", flush=True)
        if args.only and args.json and Path(args.json).is_file():  # refresh those rows of a full run
            fresh = {r["case"]: r for r in rows}
            rows = [fresh.get(r["case"], r) for r in json.loads(Path(args.json).read_text(encoding="utf-8"))]
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
        if not args.only or args.json:
            write_markdown(rows, Path(args.out))
        bad = [r["case"] for r in rows if r["traceback"]]
        print(f"{len(rows)} cases; tracebacks: {bad or 'none'}")
        return 1 if bad else 0
    finally:
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
