"""``partlift teachers``: list every teacher, its kind and whether it can be used here."""

from __future__ import annotations

import argparse
import json

from partlift.teachers.registry import list_teachers, teacher_status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "teachers",
        help="list the 2D teachers, their kind and availability",
        description="List every registered teacher with its kind (box, mask, pixel, refiner), "
        "whether it is available here, and for unavailable ones the command that installs it. "
        "Compose a box teacher with a refiner as '<teacher>+sam'.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = []
    for spec in list_teachers():
        ok, reason = teacher_status(spec.name)
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "available": ok,
                "install_hint": "" if ok else spec.install_hint,
                "reason": reason,
                "description": spec.description,
                **_extra(spec.name),
            }
        )
    if args.json:
        print(json.dumps({"teachers": rows}))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        status = "available" if r["available"] else f"unavailable — {r['install_hint'] or r['reason']}"
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
