"""Packaging invariants: torchvision is never installed nor pulled in by a dependency."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _requirement_name(req: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_torchvision_is_not_installed():
    # The only torchvision build matching torch 2.13 here fails to import and breaks
    # transformers' image processors (DESIGN §5).
    assert importlib.util.find_spec("torchvision") is None


def test_no_dependency_pulls_in_torchvision():
    """Walk the installed dependency tree of partlift (all extras) and look for torchvision."""
    seen: set[str] = set()
    todo = ["partlift"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for req in reqs:
            # A dependency's own optional extras are not installed; partlift's extras are.
            if name != "partlift" and "extra ==" in req.replace('"', "").replace("'", ""):
                continue
            dep = _requirement_name(req)
            assert dep != "torchvision", f"{name} requires torchvision: {req!r}"
            todo.append(dep)
    assert "torch" in seen


def test_pyproject_declares_no_torchvision_and_pins_cpu_torch():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    names = {_requirement_name(r) for r in reqs}
    assert "torchvision" not in names
    torch_req = next(r for r in meta["dependencies"] if _requirement_name(r) == "torch")
    # An upper bound keeps a fresh install on the CPU wheel instead of the newest CUDA build.
    assert "<=2.13.0" in torch_req.replace(" ", "")


def test_partnete_meta_is_shipped_once():
    copies = sorted(p.relative_to(REPO) for p in (REPO / "src").rglob("PartNetE_meta.json"))
    assert [str(p) for p in copies] == ["src/partlift/data/PartNetE_meta.json"]
