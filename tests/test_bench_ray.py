"""``partlift bench --ray``: a local Ray instance gives the same results as the serial run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from partlift.cli.main import main

ARGS = ["bench", "--dataset", "synthetic", "--categories", "Bottle", "--count", "2", "--methods", "partslip",
        "--teacher", "simulated:zeroshot", "--preset", "tiny", "--points", "3000", "--no-progress"]


def _records(out: Path) -> dict[str, dict]:
    recs = {}
    for p in sorted((out / "shapes").rglob("*.json")):
        r = json.loads(p.read_text())
        r.pop("seconds")
        r.pop("device")
        recs[str(p.relative_to(out))] = r
    return recs


def _results(out: Path) -> dict:
    res = json.loads((out / "results.json").read_text())
    for m in res["methods"].values():
        m.pop("seconds_per_shape")
    return res


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install 'partlift[ray]')")
def test_ray_local_equals_serial(tmp_path: Path) -> None:
    import numpy as np

    serial, distributed = tmp_path / "serial", tmp_path / "ray"
    assert main([*ARGS, "--out", str(serial)]) == 0
    assert main([*ARGS, "--ray", "--out", str(distributed)]) == 0
    assert _results(serial) == _results(distributed)
    assert _records(serial) == _records(distributed)
    for npz in (serial / "shapes").rglob("*.npz"):
        a, b = np.load(npz), np.load(distributed / npz.relative_to(serial))
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_ray_missing_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import partlift.bench.ray_backend as rb

    real = importlib.util.find_spec
    monkeypatch.setattr(rb.importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert main([*ARGS, "--ray", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'partlift[ray]'" in err[0]
