"""``partlift teachers``: list every teacher, its kind and whether it can be used here.

Three states per teacher: ``ready``; ``package missing`` (with the install command); ``weights
not found locally`` (Hugging Face teachers whose default weights are neither in the HF cache nor
given as a folder; with where they were looked for and the ``--teacher name:/path/to/dir`` form).
Nothing is downloaded and the network is not contacted.
"""

from __future__ import annotations

import argparse
import json

from partlift.teachers.registry import list_teachers, teacher_status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "teachers",
        help="list the 2D teachers, their kind and availability",
        description="List every registered teacher with its kind (box, mask, pixel, refiner) and "
        "its state here: ready, package missing (with the install command) or weights not found "
        "locally (Hugging Face teachers: where the weights were looked for, `hf download MODEL`, "
        "or a local folder as --teacher owlv2:/path/to/dir). Compose a box teacher with a "
        "refiner as '<teacher>+sam'.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def teacher_state(name: str) -> tuple[str, str]:
    """``(state, detail)``: ``"ready"``, ``"package-missing"`` or ``"no-weights"``."""
    ok, reason = teacher_status(name)
    if not ok:
        return "package-missing", reason
    from partlift.teachers.hf.weights import DEFAULT_MODELS, weights_status

    if name not in DEFAULT_MODELS:
        return "ready", ""
    return weights_status(name)


_SHOWN = {
    "ready": "ready",
    "package-missing": "unavailable: package missing",
    "no-weights": "unavailable: weights not found locally",
}


def run(args: argparse.Namespace) -> int:
    rows = []
    for spec in list_teachers():
        state, detail = teacher_state(spec.name)
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "state": state,
                "available": state == "ready",
                "install_hint": spec.install_hint if state == "package-missing" else "",
                "reason": "" if state == "ready" else detail,
                "weights": detail if state == "ready" else "",
                "description": spec.description,
                **_extra(spec.name),
            }
        )
    if args.json:
        print(json.dumps({"teachers": rows}))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        status = _SHOWN[r["state"]]
        if r["state"] == "ready" and r["weights"]:
            status += f" (weights: {r['weights']})"
        elif r["state"] != "ready":
            status += f" — {r['reason']}"
        print(f"{r['name']:<{width}}  {r['kind']:<7}  {status}")
        print(f"{'':<{width}}  {r['description']}")
        if "categories" in r:
            print(f"{'':<{width}}  categories: {', '.join(r['categories']) or 'none (no checkpoint packaged)'}")
    return 0


def _extra(name: str) -> dict:
    """The learned teacher's packaged checkpoint's categories (header only); {} for the others."""
    if name != "learned":
        return {}
    from partlift.teachers.learned import describe

    info = describe()
    return {"categories": list(info.get("categories") or []), "checkpoint": info.get("checkpoint")}
