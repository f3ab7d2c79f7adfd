"""The PartDistill evidence runner on a tiny setting (the docs tables come from the same code)."""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic import generate
from partlift.distill.config import distill_preset
from partlift.distill.evidence import (
    Evidence,
    EvidenceSettings,
    markdown,
    run_experiment,
    shift_shape,
)


def test_shift_shape_keeps_labels_and_changes_geometry():
    shape = generate("Chair", 3, n_points=500)
    gen = shift_shape(shape, 3)
    np.testing.assert_array_equal(gen.semantic, shape.semantic)
    assert gen.n_points == shape.n_points and gen.name.endswith("~gen")
    ratio = np.ptp(gen.xyz, axis=0) / np.ptp(shape.xyz, axis=0)
    assert np.all((ratio > 1 / 1.36) & (ratio < 1.36)) and not np.allclose(ratio, 1.0)
    assert not np.allclose(gen.rgb, shape.rgb)


def test_methods_experiment_tiny(tmp_path):
    settings = EvidenceSettings(categories=("Chair",), test_count=1, test_points=1000, preset="tiny",
                                teacher="simulated:oracle", config=distill_preset("tiny"))
    ev = Evidence(settings, tmp_path / "cache", progress=False)
    result = run_experiment("methods", ev)
    assert set(result["rows"]) == {"PartSLIP voting", "PartDistill TTA, forward only",
                                   "PartDistill TTA, forward + backward"}
    for row in result["rows"].values():
        assert 0.0 <= row["Chair"] <= 100.0 and row["mean"] == row["Chair"]
    assert "| PartSLIP voting |" in markdown(result)
    # the TTA rows are cached and re-read
    assert len(list((tmp_path / "cache" / "tta").glob("*.npy"))) == 2
