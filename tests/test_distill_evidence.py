"""The PartDistill evidence runner on a tiny setting (the docs tables come from the same code)."""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic import generate
from partlift.distill.config import distill_preset
from partlift.distill.evidence import (
    Evidence,
    EvidenceSettings,
    markdown,
    prediction_quality,
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


def test_cached_rows_keep_their_measured_seconds(tmp_path):
    settings = EvidenceSettings(categories=("Chair",), test_count=1, test_points=1000, preset="tiny",
                                teacher="simulated:oracle", config=distill_preset("tiny"))
    first = run_experiment("methods", Evidence(settings, tmp_path / "cache", progress=False))
    again = run_experiment("methods", Evidence(settings, tmp_path / "cache", progress=False))
    assert len(list((tmp_path / "cache" / "tta").glob("*.json"))) == 2
    for row in ("PartDistill TTA, forward only", "PartDistill TTA, forward + backward"):
        assert first["seconds_per_shape"][row] > 0.0
        # read back from the cache: the stored time, not the cache read's
        assert again["seconds_per_shape"][row] == first["seconds_per_shape"][row]
    assert again["rows"] == first["rows"]


def test_prediction_quality_on_hand_made_knowledge():
    from partlift.distill.knowledge import ShapeKnowledge

    # 6 knowledge points, ground truth [0, 0, 1, 1, -1, 1]; 2 views; predictions:
    # d0 (class 0, view 0) covers points 0, 1, 2 -> precision 2/3; view 0 sees 0..3, part 0 there = {0, 1}
    #    -> IoU 2 / 3; d1 (class 1, view 1) covers 3, 4 -> precision 1/2; view 1 sees 2..5, part 1
    #    there = {2, 3, 5} -> IoU 1 / 4; d2 (class 1, view 0) covers nothing -> NaN; d3 = a null
    #    pseudo-prediction (not scored).
    gt = np.array([0, 0, 1, 1, -1, 1])
    know = ShapeKnowledge(
        name="toy", xyz=np.zeros((6, 3), np.float32), inputs=np.zeros((6, 3), np.float32),
        point_index=np.arange(6), pred_class=np.array([0, 1, 1, 2]), pred_conf=np.full(4, 0.8, np.float32),
        pair_point=np.array([0, 1, 2, 3, 4, 5]), pair_pred=np.array([0, 0, 0, 1, 1, 3]),
        part_names=("a", "b"), with_null=True, semantic=gt)
    visible = np.array([[1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1]], bool)
    q = prediction_quality(know, visible, np.array([0, 1, 0]))
    np.testing.assert_allclose(q["precision"][:2], [2 / 3, 1 / 2])
    np.testing.assert_allclose(q["iou"][:2], [2 / 3, 1 / 4])
    np.testing.assert_array_equal(q["size"], [3, 2, 0])
    assert np.isnan(q["precision"][2]) and np.isnan(q["iou"][2])
