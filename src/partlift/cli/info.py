"""``partlift info SHAPE``: what a shape file or PartNet-E folder holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from partlift.types import Shape


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a shape file or PartNet-E shape folder")
    p.add_argument("shape", help="point cloud, mesh, or PartNet-E folder <root>/<Category>/<id>/")
    p.add_argument("--points", type=int, default=None, help="points to sample from a mesh input (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mesh sampling")
    p.add_argument("--mesh", action="store_true", help="PartNet-E folder: also load mesh.glb and face labels")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def describe_shape(shape: Shape) -> dict[str, Any]:
    """A JSON-ready summary of ``shape``: sizes, what it carries, bounding box, label counts."""
    lo, hi = shape.xyz.min(axis=0), shape.xyz.max(axis=0)
    info: dict[str, Any] = {
        "name": shape.name,
        "points": shape.n_points,
        "colour": shape.rgb is not None,
        "normals": shape.normals is not None,
        "bbox_min": [round(float(v), 6) for v in lo],
        "bbox_max": [round(float(v), 6) for v in hi],
        "bbox_size": [round(float(v), 6) for v in hi - lo],
        "category": shape.category,
        "part_names": list(shape.part_names) if shape.part_names is not None else None,
        "mesh_faces": None if shape.mesh is None else len(shape.mesh.faces),
    }
    if shape.semantic is not None:
        info["labels"] = _label_table(shape.semantic, shape.instance, shape.part_names)
    if shape.face_semantic is not None:
        info["face_labels"] = _label_table(shape.face_semantic, shape.face_instance, shape.part_names)
    return info


def _label_table(semantic: np.ndarray, instance: np.ndarray | None, names: tuple[str, ...] | None) -> list[dict[str, Any]]:
    rows = []
    for lab in np.unique(semantic):
        sel = semantic == lab
        if lab < 0:
            name = "(unlabelled)"
        elif names is not None and lab < len(names):
            name = names[lab]
        else:
            name = f"label {int(lab)}"
        row: dict[str, Any] = {"label": int(lab), "name": name, "count": int(sel.sum())}
        if instance is not None and lab >= 0:
            ids = np.unique(instance[sel])
            row["instances"] = int((ids >= 0).sum())
        rows.append(row)
    # named parts absent from this shape still get a row: 0 points is information too
    if names is not None:
        present = {r["label"] for r in rows}
        rows += [{"label": i, "name": n, "count": 0} for i, n in enumerate(names) if i not in present]
    return sorted(rows, key=lambda r: r["label"])


def _fmt_vec(v: list[float]) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"


def run(args: argparse.Namespace) -> int:
    from partlift.io import load_shape

    shape = load_shape(args.shape, n_points=args.points, seed=args.seed, with_mesh=args.mesh)
    info = describe_shape(shape)
    if args.json:
        print(json.dumps(info))
        return 0
    yes = {True: "yes", False: "no"}
    print(f"shape:    {info['name']}  ({args.shape})")
    print(f"points:   {info['points']}")
    print(f"colour:   {yes[info['colour']]}")
    print(f"normals:  {yes[info['normals']]}")
    if info["mesh_faces"] is not None:
        print(f"mesh:     {info['mesh_faces']} faces")
    print(f"bbox:     min {_fmt_vec(info['bbox_min'])}  max {_fmt_vec(info['bbox_max'])}  size {_fmt_vec(info['bbox_size'])}")
    print(f"category: {info['category'] or '-'}")
    print(f"parts:    {', '.join(info['part_names']) if info['part_names'] else '-'}")
    for key, unit in (("labels", "points"), ("face_labels", "faces")):
        if key not in info:
            continue
        print(f"{key.replace('_', ' ')} ({unit}):")
        width = max(len(r["name"]) for r in info[key])
        for r in info[key]:
            inst = f"  {r['instances']} instance{'s' if r['instances'] != 1 else ''}" if "instances" in r else ""
            print(f"  {r['name']:<{width}}  {r['count']:>8}{inst}")
    if "labels" not in info:
        print("labels:   none")
    return 0
