"""Atomic writes (partlift.atomic): the target is replaced whole or not at all."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from partlift import atomic


def test_replacing_writes_through_a_temporary_file_with_the_given_suffix(tmp_path):
    target = tmp_path / "sub" / "a.npy"
    with atomic.replacing(target, suffix=".npy") as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".npy") and tmp.exists()
        np.save(tmp, np.arange(3))
    np.testing.assert_array_equal(np.load(target), [0, 1, 2])
    assert [p.name for p in target.parent.iterdir()] == ["a.npy"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = atomic.write_text(tmp_path / "r.json", "old")
    with pytest.raises(RuntimeError), atomic.replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_files_get_the_usual_permissions_and_json_round_trips(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic.write_json(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert json.loads(path.read_text()) == {"a": 1} and path.read_text().endswith("\n")
