"""`partlift segment` and `partlift demo` end to end through the CLI (STYLE §15)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from partlift.cli.main import main
from partlift.data.synthetic import export_partnete, generate


@pytest.fixture(scope="module")
def chair_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    export_partnete([generate("Chair", seed=5, n_points=5000)], root)
    return next(p for p in sorted((root / "Chair").iterdir()) if p.is_dir())


def test_segment_writes_every_output(chair_dir, tmp_path, capsys):
    out = tmp_path / "seg"
    rc = main(["segment", str(chair_dir), "--teacher", "simulated:oracle", "--preset", "tiny", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "mIoU" in printed
    sem = np.load(out / "semantic.npy")
    assert sem.shape == (5000,) and sem.dtype == np.int64
    assert np.load(out / "instance.npy").shape == (5000,)
    assert (out / "segmented.ply").is_file() and (out / "views.png").is_file()
    assert list((out / "parts").glob("*.ply"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parts"] == ["arm", "back", "leg", "seat", "wheel"]
    assert 0.4 < summary["miou"] <= 1.0
    assert {"partlift", "torch", "numpy"} <= set(summary["versions"])
    assert summary["settings"]["teacher"].startswith("simulated:oracle")


def test_segment_vote_region_mask_is_used_and_recorded(chair_dir, tmp_path):
    args = ["segment", str(chair_dir), "--teacher", "simulated:oracle", "--preset", "tiny", "--no-sheet"]
    assert main([*args, "--out", str(tmp_path / "box")]) == 0
    assert main([*args, "--vote-region", "mask", "--out", str(tmp_path / "mask")]) == 0
    box = json.loads((tmp_path / "box" / "summary.json").read_text())
    mask = json.loads((tmp_path / "mask" / "summary.json").read_text())
    assert json.dumps(mask).count('"region": "mask"') >= 1 and '"region": "mask"' not in json.dumps(box)
    assert not np.array_equal(np.load(tmp_path / "box" / "semantic.npy"), np.load(tmp_path / "mask" / "semantic.npy"))


def test_segment_mesh_input_writes_glb_and_face_labels(tmp_path):
    mesh_path = tmp_path / "chair.glb"
    generate("Chair", seed=6, n_points=1000).mesh.export(mesh_path)
    # A bare mesh has no ground truth: the simulated teacher refuses it with one line.
    rc = main(["segment", str(mesh_path), "--parts", "seat", "--teacher", "simulated:oracle",
               "--preset", "tiny", "--points", "3000", "--out", str(tmp_path / "o")])
    assert rc == 2


def test_segment_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["segment", str(tmp_path / "missing.ply"), "--parts", "seat", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partlift segment: error:") and "\n" not in err


def test_demo_runs_offline_and_prints_a_table(tmp_path, capsys):
    rc = main(["demo", "--categories", "Chair", "Bottle", "--count", "1", "--points", "3000",
               "--preset", "tiny", "--out", str(tmp_path / "demo")])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Chair" in printed and "overall" in printed
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert [r["category"] for r in results["categories"]] == ["Chair", "Bottle"]
    assert (tmp_path / "demo" / "Chair" / "views.png").is_file()


def test_segment_set_reaches_the_stages_and_the_method(chair_dir, tmp_path, capsys):
    out = tmp_path / "set"
    rc = main(["segment", str(chair_dir), "--teacher", "simulated:zeroshot", "--preset", "tiny", "--no-sheet",
               "--set", "render.image_size=96", "--set", "partslip.region=mask", "--option",
               "partslip.vote_threshold=0.4", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    meta = json.dumps(summary)
    assert '"image_size": 96' in meta and '"region": "mask"' in meta and '"vote_threshold": 0.4' in meta
    capsys.readouterr()
    for bad, named in (("partslip.nonsense=1", "vote_threshold"), ("render.size=3", "image_size"),
                       ("partstad.epochs=3", "superpoints")):
        rc = main(["segment", str(chair_dir), "--preset", "tiny", "--set", bad, "--out", str(tmp_path / "x")])
        assert rc == 2
        assert named in capsys.readouterr().err
