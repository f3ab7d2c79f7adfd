"""``partlift predict``: renders, runs the simulated teacher and writes PNGs + JSON (tiny preset)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from partlift.cli.main import main
from partlift.io import write_ply


@pytest.fixture()
def tiny_partnete_shape(tmp_path):
    """A coloured box-like cloud in the PartNet-E layout: ``<root>/Bucket/7/pc.ply + label.npy``.

    Bucket has one part, "handle": a bar on top of a cube of unlabelled points.
    """
    rng = np.random.default_rng(0)
    body = rng.uniform(-0.5, 0.5, (3000, 3))
    handle = np.stack([rng.uniform(-0.4, 0.4, 600), rng.uniform(0.6, 0.7, 600), rng.uniform(-0.05, 0.05, 600)], 1)
    xyz = np.concatenate([body, handle]).astype(np.float32)
    rgb = np.concatenate([np.tile([0.6, 0.6, 0.7], (3000, 1)), np.tile([0.8, 0.3, 0.2], (600, 1))])
    sem = np.r_[np.full(3000, -1), np.zeros(600)].astype(np.int32)
    folder = tmp_path / "data" / "Bucket" / "7"
    write_ply(folder / "pc.ply", xyz, rgb.astype(np.float32))
    np.save(folder / "label.npy", {"semantic_seg": sem, "instance_seg": sem.copy()}, allow_pickle=True)
    return folder


def run_predict(shape_dir, out, *extra):
    return main(["predict", str(shape_dir), "--preset", "tiny", "--out", str(out), *extra])


def test_predict_writes_pngs_and_json(tiny_partnete_shape, tmp_path, capsys):
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    rc = run_predict(tiny_partnete_shape, out, "--teacher", "simulated:oracle", "--cache-dir", str(cache))
    assert rc == 0
    pngs = sorted(out.glob("view_*.png"))
    assert [p.name for p in pngs] == [f"view_{v:02d}.png" for v in range(10)]
    assert Image.open(pngs[0]).size == (128, 128)
    data = json.loads((out / "predictions.json").read_text())
    assert data["part_names"] == ["handle"] and data["teacher"] == "simulated:oracle"
    assert data["n_predictions"] == len(data["predictions"]) > 0
    rec = data["predictions"][0]
    assert set(rec) == {"view", "label", "part", "score", "box_xyxy"} and rec["part"] == "handle"
    assert (out / "masks.npz").is_file()
    assert "predictions by simulated:oracle" in capsys.readouterr().out
    # Second run: served from the cache, same output.
    entries = list(cache.rglob("*.npz"))
    assert len(entries) == 1
    out2 = tmp_path / "out2"
    assert run_predict(tiny_partnete_shape, out2, "--teacher", "simulated:oracle", "--cache-dir", str(cache)) == 0
    assert json.loads((out2 / "predictions.json").read_text()) == data


def test_predict_options(tiny_partnete_shape, tmp_path, capsys):
    out = tmp_path / "o"
    rc = run_predict(tiny_partnete_shape, out, "--teacher", "simulated:zeroshot", "--seed", "3",
                     "--parts", "handle", "lid", "--no-cache")
    assert rc == 0
    data = json.loads((out / "predictions.json").read_text())
    assert data["part_names"] == ["handle", "lid"] and data["teacher"] == "simulated:zeroshot(seed=3)"


def test_predict_errors_are_one_line(tiny_partnete_shape, tmp_path, capsys):
    rc = run_predict(tiny_partnete_shape, tmp_path / "x", "--teacher", "glip", "--no-cache")
    err = capsys.readouterr().err
    assert rc == 2 and "unknown teacher 'glip'" in err and len(err.strip().splitlines()) == 1
    rc = run_predict(tmp_path / "missing.ply", tmp_path / "x", "--no-cache")
    assert rc == 2
    # A shape without labels: the simulated teacher refuses it with a clear message.
    rng = np.random.default_rng(0)
    write_ply(tmp_path / "bare.ply", rng.uniform(-1, 1, (500, 3)).astype(np.float32))
    capsys.readouterr()
    rc = run_predict(tmp_path / "bare.ply", tmp_path / "y", "--teacher", "simulated:zeroshot", "--parts", "leg",
                     "--no-cache")
    err = capsys.readouterr().err
    assert rc == 2 and "no ground-truth part labels" in err
    # Without --teacher an unlabelled shape of no known category: one line naming the teachers
    # that could work (the rule of `segment`).
    rc = run_predict(tmp_path / "bare.ply", tmp_path / "y", "--parts", "leg", "--no-cache")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "no category (pass --category)" in err and "learned" in err


def test_predict_real_shape(real_dev_root, tmp_path):
    out = tmp_path / "real"
    rc = run_predict(real_dev_root / "StorageFurniture" / "45940", out, "--teacher", "simulated:oracle", "--no-cache")
    assert rc == 0
    data = json.loads((out / "predictions.json").read_text())
    assert {r["part"] for r in data["predictions"]} == {"door", "drawer", "handle"}
