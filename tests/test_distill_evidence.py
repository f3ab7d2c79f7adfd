"""The PartDistill evidence runner (benchmarks/partdistill_evidence.py) on hand-made and tiny
settings (the docs tables come from the same code)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark_scripts import load
from partlift.data.synthetic import generate
from partlift.distill.config import distill_preset
from partlift.errors import InputError
from partlift.metrics import shape_miou
from partlift.types import Shape

evidence = load("partdistill_evidence")
Evidence = evidence.Evidence
EvidenceSettings = evidence.EvidenceSettings
markdown = evidence.markdown
prediction_quality = evidence.prediction_quality
run_experiment = evidence.run_experiment
shift_shape = evidence.shift_shape


def test_shift_shape_keeps_labels_and_changes_geometry():
    shape = generate("Chair", 3, n_points=500)
    gen = shift_shape(shape, 3)
    np.testing.assert_array_equal(gen.semantic, shape.semantic)
    assert gen.n_points == shape.n_points and gen.name.endswith("~gen")
    ratio = np.ptp(gen.xyz, axis=0) / np.ptp(shape.xyz, axis=0)
    assert np.all((ratio > 1 / 1.36) & (ratio < 1.36)) and not np.allclose(ratio, 1.0)
    assert not np.allclose(gen.rgb, shape.rgb)


def _toy(name, gt, parts=("a", "b")):
    gt = np.asarray(gt, np.int64)
    return Shape(xyz=np.zeros((gt.size, 3), np.float32), semantic=gt, part_names=parts, name=name)


def test_table_scores_hand_checked_rows(tmp_path):
    # Category "A": s1 gt [0,0,1,1], s2 gt [0,0,0,-1]; category "B": one shape, gt [1,1,0,0].
    # Row "half": s1 -> [0,1,1,1] (IoU a 1/2, b 2/3), s2 -> [0,0,0,0] (IoU a 3/4, b absent),
    # B -> gt. Category A (METHODS §1.6.1): a = mean(1/2, 3/4) = 0.625, b = 2/3 -> 64.58 -> 64.6;
    # B = 100; mean over categories = 82.3. Row "none": all -1 -> 0 everywhere.
    s1, s2, b1 = _toy("s1", [0, 0, 1, 1]), _toy("s2", [0, 0, 0, -1]), _toy("b1", [1, 1, 0, 0])
    half = {"s1": [0, 1, 1, 1], "s2": [0, 0, 0, 0], "b1": [1, 1, 0, 0]}
    secs = {"s1": 1.0, "s2": 2.0, "b1": 6.0}
    rows = {
        "half": lambda s: (np.array(half[s.name], np.int64), secs[s.name]),
        "none": lambda s: np.full(s.n_points, -1, np.int64),
    }
    ev = Evidence(EvidenceSettings(), tmp_path / "cache", progress=False)
    result = ev.table(rows, {"A": [s1, s2], "B": [b1]})
    assert result["rows"]["half"] == {"A": 64.6, "B": 100.0, "mean": 82.3}
    assert result["rows"]["none"] == {"A": 0.0, "B": 0.0, "mean": 0.0}
    assert result["seconds_per_shape"]["half"] == 3.0  # the rows' own seconds: mean(1, 2, 6)
    assert "pre_align_seconds" not in result
    table = markdown(result).splitlines()
    assert table[0] == "| row | A | B | mean | s/shape |"
    assert table[2] == "| half | 64.6 | 100.0 | 82.3 | 3.00 |"
    assert table[3].startswith("| none | 0.0 | 0.0 | 0.0 | ")


def test_methods_experiment_tiny(tmp_path):
    settings = EvidenceSettings(categories=("Chair",), test_count=1, test_points=1000, preset="tiny",
                                teacher="simulated:oracle", config=distill_preset("tiny"))
    ev = Evidence(settings, tmp_path / "cache", progress=False)
    result = run_experiment("methods", ev)
    assert set(result["rows"]) == {"PartSLIP voting", "PartDistill TTA, forward only",
                                   "PartDistill TTA, forward + backward"}
    assert "| PartSLIP voting |" in markdown(result)
    # the TTA rows are cached; each row's number is the PartNet-E mIoU of its cached labels
    # (one shape, one category: the category mIoU is the shape's mIoU)
    (shape,) = ev.test_shapes("Chair")
    cached = sorted((tmp_path / "cache" / "tta").glob("*.npy"))
    assert len(cached) == 2
    scores = sorted(round(100 * shape_miou(np.load(p), shape.semantic, len(shape.part_names)), 1) for p in cached)
    tta = sorted(result["rows"][r]["Chair"] for r in ("PartDistill TTA, forward only",
                                                      "PartDistill TTA, forward + backward"))
    assert scores == tta
    for row in result["rows"].values():
        assert row["mean"] == row["Chair"]
    # with the oracle teacher, voting labels most of the chair right
    assert result["rows"]["PartSLIP voting"]["Chair"] > 50.0


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


def test_main_writes_json_and_markdown_atomically(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["methods", "--categories", "Chair", "--test-count", "1", "--test-points", "1000", "--preset", "tiny",
            "--teacher", "simulated:oracle", "--config", json.dumps(distill_preset("tiny").to_dict()),
            "--cache", str(tmp_path / "cache"), "--out", str(out), "--no-progress"]
    assert evidence.main(argv) == 0
    result = json.loads((out / "methods.json").read_text())
    assert result["command"] == "python benchmarks/partdistill_evidence.py " + " ".join(argv)
    assert result["settings"]["real_root"] is None
    md = (out / "methods.md").read_text()
    assert md == markdown(result) + "\n" and md.splitlines()[0] in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["methods.json", "methods.md"]  # no temporaries


def test_real_root_default_is_beside_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("PARTLIFT_REAL_DEV", raising=False)
    root = evidence.default_real_root()
    assert root == evidence.Path(evidence.__file__).resolve().parents[1].parent / "shared" / "data" / "partnete_real_dev"
    monkeypatch.setenv("PARTLIFT_REAL_DEV", str(tmp_path))
    assert evidence.default_real_root() == tmp_path


def test_real_experiment_reads_the_given_root(tmp_path):
    settings = EvidenceSettings(categories=("Chair",), real_root=str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="nowhere"):
        run_experiment("real", Evidence(settings, tmp_path / "cache", progress=False))


def test_paired_bootstrap_and_bench_rows(tmp_path, capsys):
    # the recipe of docs/reproduction.md "statistical confidence": RandomState(0), 10,000 resamples
    d = np.array([1.0, 2.0, 3.0, -1.0, 4.0])
    lo, hi = evidence.paired_bootstrap(d)
    idx = np.random.RandomState(0).randint(0, 5, size=(10_000, 5))
    want = np.percentile(d[idx].mean(axis=1), [2.5, 97.5])
    assert (lo, hi) == pytest.approx(tuple(want))
    assert lo < d.mean() < hi
    assert evidence.paired_bootstrap(np.full(4, 2.0)) == (2.0, 2.0)

    def record(folder, method, shape, miou, status="ok"):
        cat, sid = shape.split("/")
        path = tmp_path / folder / "shapes" / method / cat / f"{sid}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"shape": shape, "status": status, "shape_miou": miou}))

    for i, (a, b) in enumerate([(0.5, 0.6), (0.2, 0.1), (0.4, 0.7)]):
        record("A", "partslip", f"Chair/s{i}", a)
        record("B", "partdistill-tta", f"Chair/s{i}", b)
    record("B", "partdistill-tta", "Chair/s9", 0.9)  # no partner: left out
    record("B", "partdistill-tta", "Chair/s8", None, status="error")
    assert evidence.bench_shape_miou(tmp_path / "B", "partdistill-tta") == pytest.approx(
        {"Chair/s0": 60.0, "Chair/s1": 10.0, "Chair/s2": 70.0, "Chair/s9": 90.0})
    (row,) = evidence.bootstrap_rows(f"{tmp_path / 'A'}:partslip", [f"{tmp_path / 'B'}:partdistill-tta"])
    assert row["n"] == 3 and row["diff"] == pytest.approx(10.0) and row["ahead"] == 2
    assert row["ci95"][0] <= row["diff"] <= row["ci95"][1]
    assert evidence.main(["bootstrap", f"{tmp_path / 'A'}:partslip", f"{tmp_path / 'B'}:partdistill-tta"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["n"] == 3
