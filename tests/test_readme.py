"""The README's happy path runs verbatim (STYLE §1)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _happy_path() -> str:
    text = README.read_text()
    marker = text.index("readme-happy-path")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block, "README: no python block after the happy-path marker"
    return block.group(1)


def test_readme_happy_path_runs_verbatim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_happy_path(), "README.md", "exec"), namespace)  # noqa: S102
    out = tmp_path / "out" / "pot"
    sem = np.load(out / "semantic.npy")
    assert sem.shape == (namespace["shape"].n_points,)
    assert namespace["shape"].semantic is None  # the learned teacher works without labels
    assert (sem == 0).mean() > 0.1 and (sem == 1).any()  # a pot's lid is a good share of it; a handle
    assert (out / "instance.npy").is_file()
    assert any((out / "parts").glob("*.ply"))
    assert list(out.glob("*.glb")), "a mesh input gives a coloured GLB"
