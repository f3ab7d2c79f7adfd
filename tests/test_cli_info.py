"""``partlift info`` through ``main()``."""

from __future__ import annotations

import json

import numpy as np

from partlift.cli.main import main
from partlift.io import save_labels, write_ply


def test_info_point_cloud(tmp_path, capsys):
    xyz = np.array([[0, 0, 0], [1, 2, 3], [0.5, 0.5, 0.5]], np.float32)
    path = write_ply(tmp_path / "c.ply", xyz, rgb=np.zeros((3, 3), np.uint8))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "points:   3" in out and "colour:   yes" in out and "normals:  no" in out
    assert "max (1, 2, 3)" in out and "labels:   none" in out


def test_info_partnete_folder_counts_parts(tmp_path, capsys):
    d = tmp_path / "KitchenPot" / "7"
    write_ply(d / "pc.ply", np.random.default_rng(0).random((6, 3)).astype(np.float32))
    save_labels(d / "label.npy", np.array([-1, 0, 0, 1, 1, 1]), np.array([-1, 0, 0, 1, 2, 2]))
    assert main(["info", str(d)]) == 0
    out = capsys.readouterr().out
    assert "category: KitchenPot" in out and "parts:    lid, handle" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["lid", "2", "1", "instance"] in lines
    assert ["handle", "3", "2", "instances"] in lines
    assert ["(unlabelled)", "1"] in lines


def test_info_json(tmp_path, capsys):
    path = write_ply(tmp_path / "c.ply", np.eye(3, dtype=np.float32), semantic=np.array([0, 0, 1]))
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["points"] == 3 and info["colour"] is False
    assert [(r["name"], r["count"]) for r in info["labels"]] == [("label 0", 2), ("label 1", 1)]


def test_info_real_dev_shape_with_mesh(real_dev_root, capsys):
    assert main(["info", str(real_dev_root / "StorageFurniture" / "40147"), "--mesh"]) == 0
    out = capsys.readouterr().out
    assert "points:   50000" in out and "mesh:     2888 faces" in out
    assert ["handle", "63", "2", "instances"] in [line.split() for line in out.splitlines()]


def test_info_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.ply")]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("partlift info: error:") and "missing.ply" in err[0]
    assert captured.out == ""
