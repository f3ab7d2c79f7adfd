"""``partlift bench``: end to end on generated shapes and on PartNet-E / ShapeNetPart-layout folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from partlift.bench import runner
from partlift.bench.settings import BenchSettings
from partlift.cli.main import main

FAST = ["--preset", "tiny", "--points", "3000", "--no-progress"]


def _bench(out: Path, *args: str) -> dict:
    rc = main(["bench", *args, *FAST, "--out", str(out)])
    assert rc == 0
    return json.loads((out / "results.json").read_text())


def _strip_times(results: dict) -> dict:
    res = json.loads(json.dumps(results))
    for m in res["methods"].values():
        m.pop("seconds_per_shape")
    return res


def _check_schema(res: dict) -> None:
    assert set(res) == {"dataset", "teacher", "methods", "settings", "versions"}
    for m in res["methods"].values():
        assert set(m) == {"miou", "map50", "per_category", "seconds_per_shape"}
        for c in m["per_category"].values():
            assert set(c) == {"miou", "map50", "n_shapes"}


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench") / "synth"
    res = _bench(out, "--dataset", "synthetic", "--categories", "Chair", "Bottle", "--count", "2",
                 "--methods", "partslip", "--teacher", "simulated:zeroshot")
    return out, res


def test_synthetic_run_writes_results_report_and_plots(synth_run: tuple[Path, dict]) -> None:
    out, res = synth_run
    _check_schema(res)
    assert res["dataset"] == "synthetic" and res["teacher"] == "simulated:zeroshot"
    r = res["methods"]["partslip"]
    assert set(r["per_category"]) == {"Bottle", "Chair"}
    assert all(c["n_shapes"] == 2 for c in r["per_category"].values())
    assert 0.0 <= r["miou"] <= 100.0 and r["map50"] is not None
    assert r["seconds_per_shape"] > 0
    assert r["miou"] == pytest.approx(np.mean([c["miou"] for c in r["per_category"].values()]), abs=1e-3)
    report = (out / "report.md").read_text()
    assert "## Overall" in report and "| Chair |" in report and "mIoU 17" in report
    assert (out / "plots" / "per_category_miou.png").stat().st_size > 1000
    details = json.loads((out / "details.json").read_text())
    assert details["methods"]["partslip"]["groups_miou"]["17"] is not None
    recs = sorted((out / "shapes" / "partslip" / "Chair").glob("*.json"))
    assert len(recs) == 2 and all(p.with_suffix(".npz").is_file() for p in recs)


def test_same_command_same_results(synth_run: tuple[Path, dict], tmp_path: Path) -> None:
    _, res = synth_run
    again = _bench(tmp_path / "again", "--dataset", "synthetic", "--categories", "Chair", "Bottle", "--count", "2",
                   "--methods", "partslip", "--teacher", "simulated:zeroshot")
    assert _strip_times(again) == _strip_times(res)


def test_interrupted_run_resumes_without_redoing_shapes(synth_run: tuple[Path, dict], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, full = synth_run
    settings = BenchSettings(dataset="synthetic", out=str(tmp_path / "r"), categories=("Chair", "Bottle"),
                             count=2, methods=("partslip",), preset="tiny", points=3000)
    real = runner.evaluate_shape
    calls: list[str] = []

    def flaky(seg, shape, sid, *a, **k):
        calls.append(sid)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(seg, shape, sid, *a, **k)

    monkeypatch.setattr(runner, "evaluate_shape", flaky)
    with pytest.raises(KeyboardInterrupt):
        runner.run_bench(settings, progress=False)
    assert len(list((tmp_path / "r" / "shapes").rglob("*.json"))) == 2
    calls.clear()
    res = runner.run_bench(settings, progress=False)
    assert len(calls) == 2  # only the two unfinished shapes
    assert _strip_times(res) == _strip_times(full)
    calls.clear()
    runner.run_bench(settings, progress=False)
    assert calls == []


def test_folder_of_other_run_is_refused(synth_run: tuple[Path, dict]) -> None:
    out, _ = synth_run
    rc = main(["bench", "--dataset", "synthetic", "--categories", "Chair", "--count", "2", "--seed", "5",
               *FAST, "--out", str(out)])
    assert rc == 2


# ----------------------------------------------------------------------------- PartNet-E layout


def _write_shape(root: Path, cat: str, sid: str, xyz: np.ndarray, rgb: np.ndarray, sem: np.ndarray,
                 ins: np.ndarray) -> None:
    from partlift.io import save_labels, write_ply

    d = root / cat / sid
    d.mkdir(parents=True)
    write_ply(d / "pc.ply", xyz.astype(np.float32), rgb.astype(np.float32))
    save_labels(d / "label.npy", sem.astype(np.int32), ins.astype(np.int32))


@pytest.fixture(scope="module")
def odd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PartNet-E folder with its own meta: a one-part category, absent parts, varied sizes."""
    from partlift.data import synthetic

    root = tmp_path_factory.mktemp("odd")
    meta = {"Gizmo": ["knob"], "Chair": ["arm", "back", "leg", "seat", "wheel"]}
    (root / "PartNetE_meta.json").write_text(json.dumps(meta))
    rng = np.random.default_rng(0)
    for i, n in enumerate((1500, 4000)):
        xyz = rng.normal(size=(n, 3))
        sem = np.where(xyz[:, 0] > 0.6, 0, -1)
        _write_shape(root, "Gizmo", str(i + 1), xyz, rng.uniform(size=(n, 3)), sem, sem.copy())
    for i, seed in enumerate((3, 4, 5, 6, 7)):
        s = synthetic.generate("Chair", seed, n_points=2500 + 500 * i)
        _write_shape(root, "Chair", str(10 + i), s.xyz, s.rgb, s.semantic, s.instance)
    return root


def test_any_partnete_folder_with_failures(odd_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import partlift.lifting.method as lm
    from partlift.teachers.simulated import SimulatedTeacher
    from partlift.types import Predictions

    real_predict = SimulatedTeacher.predict
    real_method = lm.run_partslip

    def blind(self, views, part_names, shape):  # the teacher finds nothing on Chair/12
        if shape.name == "Chair/12":
            return Predictions.empty(tuple(part_names), views.image_size, self.profile.feature_dim,
                                     teacher=self.name)
        return real_predict(self, views, part_names, shape)

    def crashy(prepared, preds, config, context):  # the method crashes on Chair/13
        if prepared.source.name == "Chair/13":
            raise RuntimeError("boom")
        return real_method(prepared, preds, config, context)

    monkeypatch.setattr(SimulatedTeacher, "predict", blind)
    monkeypatch.setattr(lm, "run_partslip", crashy)
    out = tmp_path / "odd"
    res = _bench(out, "--dataset", "partnete", "--root", str(odd_root), "--methods", "partslip", "partstad",
                 "--shots", "root:2", "--stad-epochs", "2", "--teacher", "simulated:oracle")
    _check_schema(res)
    pc = res["methods"]["partslip"]["per_category"]
    assert set(pc) == {"Chair", "Gizmo"}
    assert pc["Chair"]["n_shapes"] == 3 and pc["Gizmo"]["n_shapes"] == 2
    recs = {p.stem: json.loads(p.read_text()) for p in (out / "shapes" / "partslip" / "Chair").glob("*.json")}
    assert sorted(recs) == ["12", "13", "14"]  # 10 and 11 are PartSTAD's few-shot shapes
    assert recs["12"]["n_predictions"] == 0 and recs["12"]["shape_miou"] == 0.0
    assert recs["13"]["status"] == "error" and "boom" in recs["13"]["error"]
    assert recs["14"]["status"] == "ok"
    details = json.loads((out / "details.json").read_text())["methods"]["partslip"]
    assert details["errors"] == 1 and details["empty_teacher"] == 1
    assert "Gizmo" not in details["groups_miou"] or details["groups_miou"] == {}
    # root:2 leaves Gizmo (2 shapes) without few-shot shapes: partstad is skipped there, with the reason
    from partlift.methods import METHODS

    report = (out / "report.md").read_text()
    reason = "Gizmo has only 2 shape(s)" if "partstad" in METHODS else "not available"
    assert "## Skipped" in report and reason in report
    assert "Gizmo" not in res["methods"].get("partstad", {"per_category": {}})["per_category"]


def test_synthetic_rejects_root_and_needs_categories(tmp_path: Path) -> None:
    assert main(["bench", "--dataset", "synthetic", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "--dataset", "synthetic", "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "--dataset", "partnete", "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "--dataset", "synthetic", "--categories", "Chair", "--methods", "nosuch",
                 "--out", str(tmp_path / "o")]) == 2


# ----------------------------------------------------------------------------- ShapeNetPart layout


def test_shapenetpart_protocol(tmp_path: Path) -> None:
    from partlift.data import synthetic

    root = tmp_path / "snp"
    (root / "03001627").mkdir(parents=True)
    # PartNet-E chair parts -> ShapeNetPart Chair (back 12, seat 13, leg 14, arm 15); wheels become legs
    to_global = {0: 15, 1: 12, 2: 14, 3: 13, 4: 14}
    for seed in (1, 2):
        s = synthetic.generate("Chair", seed, n_points=2600)
        keep = s.semantic >= 0
        pid = np.array([to_global[int(v)] for v in s.semantic[keep]])
        rows = np.column_stack([s.xyz[keep], s.normals[keep], pid])
        np.savetxt(root / "03001627" / f"m{seed}.txt", rows, fmt="%.6f %.6f %.6f %.6f %.6f %.6f %d")
    out = tmp_path / "out"
    res = _bench(out, "--dataset", "shapenetpart", "--root", str(root), "--methods", "partslip",
                 "--teacher", "simulated:fewshot")
    _check_schema(res)
    r = res["methods"]["partslip"]
    assert r["map50"] is None and r["per_category"]["Chair"]["n_shapes"] == 2
    rec = json.loads(next((out / "shapes" / "partslip" / "Chair").glob("*.json")).read_text())
    assert rec["n_eval_points"] == 2048 and rec["n_points"] > 2048


# ----------------------------------------------------------------------------- sweep


def test_noise_sweep(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    rc = main(["bench", "--dataset", "synthetic", "--categories", "Bottle", "--count", "1", "--methods", "partslip",
               "--sweep", "0", "1", *FAST, "--out", str(out)])
    assert rc == 0
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["levels"] == [0.0, 1.0] and len(sweep["methods"]["partslip"]["miou"]) == 2
    assert (out / "plots" / "noise_sweep.png").is_file()
    assert (out / "sweep" / "noise_0" / "results.json").is_file()
    oracle = json.loads((out / "sweep" / "noise_0" / "results.json").read_text())
    assert oracle["teacher"] == "simulated:zeroshot@0"
    assert "noise sweep" in (out / "report.md").read_text()


def test_sweep_needs_simulated_teacher() -> None:
    from partlift.bench.sweep import sweep_teacher
    from partlift.errors import InputError

    assert sweep_teacher("simulated", 0.5) == "simulated:zeroshot@0.5"
    assert sweep_teacher("simulated:fewshot@2", 0) == "simulated:fewshot@0"
    with pytest.raises(InputError):
        sweep_teacher("grounding-dino", 1.0)


def test_partdistill_prepared_on_a_collection(tmp_path: Path) -> None:
    out = tmp_path / "distill"
    res = _bench(out, "--dataset", "synthetic", "--categories", "Kettle", "--count", "1", "--methods",
                 "partdistill", "partdistill-tta-forward", "partdistill-pre-tta", "--collection", "synthetic:2",
                 "--teacher", "simulated:oracle", "--option", "partdistill.preset=tiny",
                 "--option", "partdistill-tta.preset=tiny", "--option", "partdistill-pre-tta.preset=tiny")
    _check_schema(res)
    for m in ("partdistill", "partdistill-tta-forward", "partdistill-pre-tta"):
        assert res["methods"][m]["per_category"]["Kettle"]["n_shapes"] == 1
    prepared = json.loads((out / "prepared" / "partdistill" / "Kettle" / "prepared.json").read_text())
    assert prepared["status"] == "ok" and Path(prepared["options"]["student"]).is_file()
    assert prepared["inputs"]["collection"]["spec"]["split"] == "collection"
    pre_tta = json.loads((out / "prepared" / "partdistill-pre-tta" / "Kettle" / "prepared.json").read_text())
    assert pre_tta["status"] == "ok" and pre_tta["options"]["student"] == prepared["options"]["student"]
    assert pre_tta["options"]["tta"] is True and "tta" not in prepared["options"]
    # the jobs run as partdistill with these options: tta=True aligns on the test shape
    # (tests/test_distill_pre_tta.py checks that a run with it reports regime pre+tta)
    tta = json.loads((out / "prepared" / "partdistill-tta-forward" / "Kettle" / "prepared.json").read_text())
    assert tta["options"]["distill_config"]["backward"] is False and tta["options"]["distill_config"]["epochs"] == 4
