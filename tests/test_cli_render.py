"""``partlift render`` and ``partlift speed render`` through ``main([...])``."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from partlift.bench.speed.render import synthetic_cloud
from partlift.cli.main import main


def _write_cloud(path, n=3000):
    shape = synthetic_cloud(n)
    # a cloud far from the unit sphere: the command must normalise it
    xyz = shape.xyz * 40.0 + np.array([5.0, -3.0, 100.0], np.float32)
    np.save(path, np.concatenate([xyz, shape.rgb], axis=1).astype(np.float32))
    return path


def test_render_writes_ten_views(tmp_path, capsys):
    src = _write_cloud(tmp_path / "cloud.npy")
    out = tmp_path / "views"
    assert main(["render", str(src), "--out", str(out), "--preset", "tiny", "--maps"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"view_{v:02d}.png" for v in range(10)] + ["views.npz"]
    for v in range(10):
        img = np.asarray(Image.open(out / f"view_{v:02d}.png"))
        assert img.shape == (128, 128, 3) and img.dtype == np.uint8
        assert (img != 255).any(axis=2).mean() > 0.05  # the (normalised) cloud is in view
    maps = np.load(out / "views.npz")
    assert maps["pix2point"].shape == (10, 128, 128) and maps["visible"].shape == (10, 3000)
    assert "10 views of 128x128" in capsys.readouterr().out


def test_render_real_shape_folder(real_dev_root, tmp_path):
    out = tmp_path / "bottle"
    assert main(["render", str(real_dev_root / "Bottle" / "3763"), "--out", str(out), "--preset", "tiny"]) == 0
    assert len(list(out.glob("view_*.png"))) == 10


def test_render_missing_file_is_one_line_error(tmp_path, capsys):
    code = main(["render", str(tmp_path / "missing.ply"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partlift render: error:") and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_speed_render_json(capsys, monkeypatch):
    # Keep the test quick: the CLI stage at the tiny preset, one repeat.
    import partlift.bench.speed.render as speed

    real = speed.speed_render
    monkeypatch.setattr(speed, "speed_render", lambda p, d: real(p, d, preset="tiny", repeats=1))
    assert main(["speed", "render", "--points", "1500", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["stage"] == "render" and result["points"] == 1500
    assert result["seconds"] > 0 and result["peak_rss_mb"] > 0 and result["device"] == "cpu"
