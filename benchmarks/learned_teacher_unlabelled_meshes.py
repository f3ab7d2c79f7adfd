"""The unlabelled path on the real dev meshes: `partlift segment <shape>/mesh.glb --category CAT`.

Runs the CLI exactly as a user would on each real dev ``mesh.glb`` of a category the learned
teacher knows (the file carries no labels; the teacher is chosen by default), then scores the
written per-face labels against the shape's ``face_labels.npy``: area-weighted IoU per part (a
face's area is its weight), mean over the category's parts. This is a mesh-face score, not the
benchmark's point score on ``pc.ply``.

    python benchmarks/learned_teacher_unlabelled_meshes.py [--root ../shared/data/partnete_real_dev]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    import trimesh

    from partlift.data.meta import part_names
    from partlift.teachers.choose import learned_categories

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/partnete_real_dev")
    ap.add_argument("--preset", default="partslip")
    args = ap.parse_args()
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cat in learned_categories():
            for shape_dir in sorted(p for p in (Path(args.root) / cat).glob("*") if (p / "mesh.glb").is_file()):
                names = part_names(cat)
                out = Path(tmp) / cat / shape_dir.name
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "partlift", "segment", str(shape_dir / "mesh.glb"),
                                "--category", cat, "--parts", *names, "--preset", args.preset, "--no-sheet",
                                "--out", str(out)], check=True)
                wall = time.perf_counter() - t
                pred = np.load(out / "face_labels.npy", allow_pickle=True).item()["semantic_seg"]
                gt = np.load(shape_dir / "face_labels.npy", allow_pickle=True).item()["semantic_seg"]
                area = trimesh.load(shape_dir / "mesh.glb", force="mesh").area_faces
                ious = {}
                for c, name in enumerate(names):
                    union = area[(pred == c) | (gt == c)].sum()
                    ious[name] = round(100 * float(area[(pred == c) & (gt == c)].sum() / union), 1) if union else 100.0
                rows[f"{cat}/{shape_dir.name}"] = {"iou": ious, "miou": round(float(np.mean(list(ious.values()))), 1),
                                                   "wall_s": round(wall, 1)}
                print(f"{cat}/{shape_dir.name}: {rows[f'{cat}/{shape_dir.name}']}", flush=True)
    mean = float(np.mean([r["miou"] for r in rows.values()])) if rows else float("nan")
    print(json.dumps({"shapes": rows, "mean_miou": round(mean, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
