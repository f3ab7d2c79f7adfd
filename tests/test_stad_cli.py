"""``partlift fit-weights`` then ``Segmenter(method="partstad")`` on generated shapes (seconds, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from partlift.cli.main import main
from partlift.data import synthetic
from partlift.errors import CheckpointError
from partlift.pipeline import Segmenter

ARGS = ["--category", "Chair", "--points", "1500", "--preset", "tiny", "--epochs", "3", "--no-progress"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    out = tmp_path_factory.mktemp("stad") / "chair.safetensors"
    code = main(["fit-weights", "--shots", "synthetic:2", "--val", "synthetic:1", *ARGS, "--out", str(out)])
    assert code == 0
    return out


def test_fit_weights_writes_checkpoint_log_and_curve(weights):
    log = json.loads(weights.with_name("chair.log.json").read_text())
    assert [r["epoch"] for r in log["epochs"]] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) for r in log["epochs"])
    assert log["meta"]["teacher"].startswith("simulated:fewshot")
    assert log["meta"]["part_names"] == list(synthetic.category_parts("Chair"))
    assert weights.with_name("chair.curve.png").stat().st_size > 1000
    assert not weights.with_name("chair.state.pt").exists()


def test_segment_with_partstad_weights(weights):
    shape = synthetic.generate("Chair", synthetic.shape_seed(0, "Chair", 0, "test"), n_points=1500)
    seg = Segmenter(teacher="simulated:fewshot", method="partstad", preset="tiny",
                    teacher_options={"seed": 0}, method_options={"weights": str(weights)})
    labels = seg.segment(shape)
    assert labels.semantic.shape == (1500,) and labels.instance.shape == (1500,)
    assert labels.meta["method"] == "partstad" and labels.meta["stad"]["region"] == "mask"
    assert np.isfinite(labels.scores).all()
    with pytest.raises(CheckpointError, match="parts"):
        seg.segment(shape, parts=["arm", "back", "leg", "seat"])
    other = Segmenter(teacher="simulated:zeroshot", method="partstad", preset="tiny",
                      method_options={"weights": str(weights)})
    with pytest.raises(CheckpointError, match="teacher"):
        other.segment(shape)


def test_fit_weights_refuses_validation_in_test(tmp_path, capsys):
    val_name = f"Chair/{synthetic.shape_id(synthetic.shape_seed(0, 'Chair', 0, 'val'))}"
    code = main(["fit-weights", "--shots", "synthetic:2", "--val", "synthetic:1", "--test", val_name,
                 *ARGS, "--out", str(tmp_path / "w.safetensors")])
    assert code == 2
    assert "overlaps the test" in capsys.readouterr().err


def test_fit_weights_refuses_single_shape(tmp_path, capsys):
    code = main(["fit-weights", "--shots", "synthetic:1", "--val", "synthetic:1", *ARGS,
                 "--out", str(tmp_path / "w.safetensors")])
    assert code == 2
    assert "at least 2" in capsys.readouterr().err
