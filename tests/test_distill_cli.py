"""``partlift distill`` and the partdistill / partdistill-tta methods, end to end on generated shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from partlift.cli.main import main
from partlift.data.synthetic import generate
from partlift.distill.collection import collection_knowledge, parse_source
from partlift.distill.config import distill_preset
from partlift.errors import CheckpointError, InputError
from partlift.pipeline import Segmenter

TINY = distill_preset("tiny")
COMMON = ["--config", "tiny", "--preset", "tiny", "--points", "1200", "--no-progress"]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("distill") / "chair.safetensors"
    rc = main(["distill", "--collection", "synthetic:Chair:3", "--teacher", "simulated:oracle",
               "--out", str(out), *COMMON])
    assert rc == 0
    return out


def test_distill_writes_student_log_and_curve(student):
    stem = student.with_suffix("")
    log = json.loads(stem.with_name(stem.name + ".log.json").read_text())
    assert len(log["epochs"]) == TINY.epochs
    assert log["meta"]["category"] == "Chair"
    assert log["meta"]["collection"]["n_shapes"] == 3 and log["meta"]["collection"]["n_skipped"] == 0
    assert all(row["loss"] > 0 for row in log["epochs"])
    assert stem.with_name(stem.name + ".curve.png").is_file()
    assert not stem.with_name(stem.name + ".state.pt").exists()
    assert len(list(stem.with_name(stem.name + ".knowledge").glob("*.npz"))) == 3


def test_segment_with_pre_aligned_student(student, tmp_path):
    shape = generate("Chair", 7, n_points=1200)
    seg = Segmenter(teacher="simulated:oracle", method="partdistill", preset="tiny",
                    method_options={"student": str(student)})
    labels = seg.segment(shape)
    assert labels.semantic.shape == (1200,)
    assert labels.meta["distill"]["regime"] == "pre"
    assert labels.scores.shape == (1200, len(shape.part_names))
    with pytest.raises(CheckpointError, match="parts asked for"):
        seg.segment(shape, ["seat", "back"])


def test_segment_tta_method():
    shape = generate("Table", 3, n_points=1200)
    seg = Segmenter(teacher="simulated:oracle", method="partdistill-tta", preset="tiny",
                    method_options={"distill_config": "tiny"})
    labels = seg.segment(shape)
    d = labels.meta["distill"]
    assert d["regime"] == "tta" and d["region"] == "box" and d["backward_epoch"] is not None
    assert labels.semantic.min() >= -1 and labels.semantic.max() < len(shape.part_names)
    # same seed, same result
    again = Segmenter(teacher="simulated:oracle", method="partdistill-tta", preset="tiny",
                      method_options={"distill_config": "tiny"}).segment(shape)
    np.testing.assert_array_equal(labels.semantic, again.semantic)


def test_pixel_teacher_uses_masks():
    from partlift.teachers.registry import build_teacher

    shape = generate("Chair", 4, n_points=1200)
    teacher = build_teacher("simulated:oracle", seed=0, mode="pixel")
    seg = Segmenter(teacher=teacher, method="partdistill-tta", preset="tiny", method_options={"distill_config": "tiny"})
    assert seg.segment(shape).meta["distill"]["region"] == "mask"


def test_collection_skips_shapes_without_predictions(tmp_path):
    class Blind:
        """A teacher that finds parts only on the first shape it sees."""

        name, kind = "blind", "box"

        def __init__(self):
            from partlift.teachers.registry import build_teacher

            self.inner = build_teacher("simulated:oracle", seed=0, mode="box")
            self.calls = 0

        def predict(self, views, names, shape):
            self.calls += 1
            preds = self.inner.predict(views, names, shape)
            return preds if self.calls == 1 else preds.select(np.zeros(0, np.int64))

    coll = collection_knowledge(["synthetic:Chair:3"], ("arm", "back", "leg", "seat", "wheel"), Blind(), TINY,
                                render_config="tiny", n_points=800)
    assert len(coll.knowledge) == 1 and len(coll.skipped) == 2
    assert coll.summary()["n_skipped"] == 2
    with pytest.raises(InputError, match="found none"):
        blind = Blind()
        blind.calls = 1
        collection_knowledge(["synthetic:Chair:2"], ("arm", "back"), blind, TINY, render_config="tiny", n_points=800)


def test_parse_source_errors(tmp_path):
    assert parse_source("synthetic:Chair:5:collection-real:3").split == "collection-real"
    with pytest.raises(InputError, match="no category"):
        parse_source("synthetic:Spaceship:5")
    with pytest.raises(InputError, match="neither a folder"):
        parse_source(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="0 shapes"):
        parse_source("synthetic:Chair:0")


def test_cli_bad_inputs_are_one_line_errors(tmp_path, capsys, student):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["distill", "--collection", str(empty), "--parts", "seat", "--out", str(tmp_path / "x.safetensors"),
                 *COMMON]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds no shape" in err
    shape_dir = tmp_path / "one"
    from partlift.data.synthetic.export import export_partnete

    export_partnete([generate("Chair", 9, n_points=1200)], shape_dir, with_mesh=False)
    assert main(["segment", str(shape_dir / "Chair" / "synth_9"), "--teacher", "simulated:oracle", "--method",
                 "partdistill", "--student", str(student), "--parts", "seat", "leg", "--preset", "tiny",
                 "--no-sheet", "--out", str(tmp_path / "seg")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "parts asked for" in err


def test_cli_resumes_interrupted_run(tmp_path, capsys):
    import partlift.distill.align as align_mod

    out = tmp_path / "r.safetensors"
    argv = ["distill", "--collection", "synthetic:Chair:2", "--teacher", "simulated:oracle", "--out", str(out), *COMMON]
    real_save = align_mod._save_state
    calls = {"n": 0}

    def interrupting_save(path, state):
        real_save(path, state)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    align_mod._save_state = interrupting_save
    try:
        assert main(argv) == 130
    finally:
        align_mod._save_state = real_save
    capsys.readouterr()
    assert main(argv) == 0
    assert "resumed at epoch 2" in capsys.readouterr().out
    assert out.is_file()


def test_stad_weights_as_confidences(tmp_path):
    """``--weights``: a PartSTAD weight net's per-prediction weights replace the teacher scores."""
    import torch

    from partlift.config import render_preset
    from partlift.distill.knowledge import render_for_teacher, stad_confidences
    from partlift.stad.config import StadConfig
    from partlift.stad.encoding import input_dim
    from partlift.stad.fit import save_checkpoint
    from partlift.stad.net import StadModel
    from partlift.teachers.registry import build_teacher

    shape = generate("Chair", 5, n_points=1200)
    teacher = build_teacher("simulated:zeroshot", seed=0, mode="box")
    norm, views = render_for_teacher(shape, render_preset("tiny"))
    preds = teacher.predict(views, shape.part_names, norm)
    cfg = StadConfig()
    in_dim = input_dim(preds.feature_dim, cfg)
    model = StadModel(in_dim, cfg, generator=torch.Generator().manual_seed(0))
    path = save_checkpoint(tmp_path / "w.safetensors", model, {
        "category": "Chair", "part_names": list(shape.part_names), "teacher": teacher.name,
        "feature_dim": preds.feature_dim, "in_dim": in_dim, "config": cfg.to_dict()})
    conf = stad_confidences(path, preds, views, teacher=teacher.name)
    assert conf.shape == (len(preds),) and conf.max() == pytest.approx(1.0) and conf.min() >= 0
    with pytest.raises(CheckpointError, match="parts asked for"):
        stad_confidences(path, _with_names(preds, ("arm", "back")), views, teacher=teacher.name)
    seg = Segmenter(teacher=teacher, method="partdistill-tta", preset="tiny",
                    method_options={"distill_config": "tiny", "weights": str(path)})
    assert seg.segment(shape).meta["distill"]["confidence"] == "weights"


def _with_names(preds, names):
    import dataclasses

    keep = preds.label < len(names)
    return dataclasses.replace(preds.select(keep), part_names=tuple(names))


def test_speed_distill_pre_reports_forward_and_end_to_end_segment_times():
    from partlift.bench.speed.distill import speed_distill_pre
    from partlift.distill.config import distill_preset

    out = speed_distill_pre(1000, "cpu", distill_preset("tiny"), n_shapes=2, presets=("tiny",))
    assert out["shapes"] == 2 and out["segment_seconds"] > 0
    e2e = out["segment_end_to_end"]["tiny"]
    assert e2e["seconds"] >= e2e["prepare"] > 0 and e2e["student_forward"] > 0
    assert set(e2e["prepare_breakdown"]) >= {"render", "superpoints"}
