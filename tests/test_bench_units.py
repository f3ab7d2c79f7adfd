"""Benchmark building blocks: settings, sources, records, the preparation interface, speed stages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from partlift.bench import preparers
from partlift.bench.datasets import SyntheticSet, eval_index, shared_shapes
from partlift.bench.preparers import MethodSkipped, PrepareRequest
from partlift.bench.settings import BenchSettings, parse_source_spec
from partlift.bench.store import read_record, write_record
from partlift.errors import InputError
from partlift.methods import MethodSpec


def test_source_specs() -> None:
    assert parse_source_spec("synthetic:8", "--shots") == ("synthetic", 8)
    assert parse_source_spec("root:2", "--shots") == ("root", 2)
    assert parse_source_spec("data/few", "--shots") == ("dir", "data/few")
    assert parse_source_spec(None, "--shots") is None
    for bad in ("synthetic:", "root:x", "synthetic:0", " "):
        with pytest.raises(InputError):
            parse_source_spec(bad, "--shots")


def test_settings_round_trip_and_fingerprints(tmp_path: Path) -> None:
    s = BenchSettings(dataset="synthetic", out=str(tmp_path), categories=("Chair",), count=2,
                      options={"partstad": {"epochs": 5}})
    assert BenchSettings.from_dict(s.to_dict()) == s
    assert s.fingerprint() == s.replace(out="elsewhere", device="cuda", methods=("partstad",)).fingerprint()
    assert s.fingerprint() != s.replace(seed=1).fingerprint()
    assert s.method_fingerprint("partstad") != s.replace(options={"partstad": {"epochs": 6}}).method_fingerprint("partstad")
    assert s.method_fingerprint("partslip") == s.replace(options={}).method_fingerprint("partslip")
    with pytest.raises(InputError):
        BenchSettings(dataset="partnete", out="o")
    with pytest.raises(InputError):
        BenchSettings(dataset="synthetic", out="o", categories=("Chair",), preset="huge")


def test_synthetic_splits_are_disjoint() -> None:
    test = SyntheticSet(["Chair"], 5, split="test")
    shots = SyntheticSet(["Chair"], 5, split="shots")
    assert len(set(test.ids("Chair"))) == 5
    assert shared_shapes(test, shots, "Chair") == []
    assert shared_shapes(test, SyntheticSet(["Chair"], 2, split="test"), "Chair") == list(sorted(test.ids("Chair")[:2]))


def test_shapenetpart_eval_subsample_is_seeded() -> None:
    a = eval_index("Chair/x", 3000, "shapenetpart")
    assert a.shape == (2048,) and np.array_equal(a, eval_index("Chair/x", 3000, "shapenetpart"))
    assert not np.array_equal(a, eval_index("Chair/y", 3000, "shapenetpart"))
    assert eval_index("Chair/x", 2000, "shapenetpart") is None
    assert eval_index("Chair/x", 3000, "partnete") is None


def test_records_are_fingerprinted(tmp_path: Path) -> None:
    rec = {"shape": "Chair/1", "method": "partslip", "fingerprint": "abc", "status": "ok"}
    arrays = {"pred_semantic": np.arange(4, dtype=np.int32)}
    write_record(tmp_path, rec, arrays)
    assert read_record(tmp_path, "partslip", "Chair/1", "abc")["status"] == "ok"
    assert read_record(tmp_path, "partslip", "Chair/1", "other") is None
    assert read_record(tmp_path, "partslip", "Chair/2") is None
    (tmp_path / "shapes" / "partslip" / "Chair" / "1.npz").unlink()
    assert read_record(tmp_path, "partslip", "Chair/1", "abc") is None  # arrays missing: not committed
    assert not list(tmp_path.rglob("*.tmp"))


# ------------------------------------------------------------------ the preparation interface

CALLS: list[str] = []


def fake_prepare(req: PrepareRequest) -> dict:
    """A preparer: writes a 'weights' file from the few-shot shapes of the category."""
    CALLS.append(req.category)
    ids = req.shots.ids(req.category)
    if req.category == "Bottle":
        raise MethodSkipped("no bottles today")
    path = req.workdir / "w.json"
    path.write_text(json.dumps(list(ids)))
    return {"weights": str(path)}


FAKE_FIT = MethodSpec(name="fake-fit", description="a test method with a per-category preparation",
                      run="partlift.lifting.method:run_partslip", config="partlift.lifting.voting:VoteConfig",
                      prepare=f"{__name__}:fake_prepare", needs=("shots",))


def test_preparer_interface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from partlift import methods
    from partlift.bench.runner import plan_run

    monkeypatch.setitem(methods.METHODS, "fake-fit", FAKE_FIT)
    CALLS.clear()
    s = BenchSettings(dataset="synthetic", out=str(tmp_path), categories=("Chair", "Bottle", "Lamp"), count=1,
                      methods=("fake-fit",), shots="synthetic:2", preset="tiny", points=500)
    plan = plan_run(s, segmenter=object())
    job = plan.job("fake-fit", "Chair")
    assert job is not None and Path(job.options["weights"]).is_file()
    assert json.loads(Path(job.options["weights"]).read_text()) == list(SyntheticSet(["Chair"], 2, split="shots", points=500).ids("Chair"))
    assert plan.skipped["fake-fit"]["Bottle"] == "no bottles today"
    assert plan.job("fake-fit", "Lamp") is not None
    assert sorted(CALLS) == ["Bottle", "Chair", "Lamp"]
    # a second plan reuses the finished preparations (and remembered skips)
    CALLS.clear()
    again = plan_run(s, segmenter=object())
    assert CALLS == [] and again.job("fake-fit", "Chair").fingerprint == job.fingerprint
    assert again.skipped["fake-fit"]["Bottle"] == "no bottles today"
    # a category the generator cannot make has no synthetic shots: skipped with the reason
    s2 = BenchSettings(dataset="synthetic", out=str(tmp_path / "b"), categories=("Chair",), count=1,
                       methods=("fake-fit",), shots=None, preset="tiny", points=500)
    assert "no few-shot source" in plan_run(s2, segmenter=object()).skipped["fake-fit"]["Chair"]


def test_changed_default_config_redoes_the_preparation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A preparation made under other config defaults (e.g. another PartDistill student) is not reused."""
    from partlift import methods
    from partlift.bench.runner import plan_run

    monkeypatch.setitem(methods.METHODS, "fake-fit", FAKE_FIT)
    defaults = {"backbone": "pointnet2"}
    monkeypatch.setattr(preparers, "resolved_config", lambda req: dict(defaults))
    s = BenchSettings(dataset="synthetic", out=str(tmp_path), categories=("Chair",), count=1,
                      methods=("fake-fit",), shots="synthetic:2", preset="tiny", points=500)
    CALLS.clear()
    first = plan_run(s, segmenter=object()).job("fake-fit", "Chair")
    plan_run(s, segmenter=object())
    assert CALLS == ["Chair"]  # same defaults: reused
    defaults["backbone"] = "pointnet"
    second = plan_run(s, segmenter=object()).job("fake-fit", "Chair")
    assert CALLS == ["Chair", "Chair"] and second.fingerprint != first.fingerprint


def test_resolved_config_of_real_methods(tmp_path: Path) -> None:
    from partlift.distill.config import DistillConfig

    s = BenchSettings(dataset="synthetic", out=str(tmp_path), categories=("Chair",), count=1,
                      methods=("partdistill-tta", "partstad-box", "partslip"), preset="tiny", points=500)

    def req(method: str) -> PrepareRequest:
        return PrepareRequest(method, "Chair", ("a",), None, None, s, tmp_path / method, lambda: None)

    assert preparers.resolved_config(req("partdistill-tta"))["backbone"] == DistillConfig().backbone
    stad = preparers.resolved_config(req("partstad-box"))
    assert stad is not None and stad["seed"] == s.seed
    assert preparers.resolved_config(req("partslip")) is None


def test_atomic_save_figure(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from partlift.bench.store import atomic_save_figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    path = atomic_save_figure(tmp_path / "p" / "x.png", fig)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(q.name for q in path.parent.iterdir()) == ["x.png"]  # no temporary left behind


def test_speed_stages_registered() -> None:
    from partlift.bench.speed import get_stage, list_stages
    from partlift.cli.speed import machine, resolve

    stages = list_stages()
    assert stages == sorted(["normals", "render", "superpoints", "vote", "pipeline", "pipeline-rss", "stad-fit",
                             "distill-tta", "distill-tta-m2ae", "distill-pre", "synth", "teacher", "throughput"])
    for name in stages:  # every registry entry resolves to its rig, in partlift.bench.speed
        rig = get_stage(name)
        assert callable(rig) and rig.__module__.startswith("partlift.bench.speed.")
    with pytest.raises(InputError, match="unknown speed stage 'nope'.*'vote'"):
        get_stage("nope")
    assert resolve("cpu") == "cpu" and resolve("auto") in ("cpu", "cuda")
    assert machine("cpu")["cpu_count"] >= 1


def test_speed_pipeline_small() -> None:
    from partlift.bench.speed.pipeline import speed_pipeline

    r = speed_pipeline(3000, "cpu")
    assert r["stage"] == "pipeline" and r["points"] == 3000
    assert set(r["stages"]) >= {"render", "superpoints", "vote"}
    assert r["seconds"] > 0 and r["teacher_seconds"] >= 0
    assert r["repeats"] == 2 and r["seconds_cold"] > 0  # one cold run, the best of two warm ones


def test_official_layout_few_shot_split(tmp_path: Path) -> None:
    from partlift.bench.datasets import build_test_set, shots_for
    from partlift.io import save_labels, write_ply

    rng = np.random.default_rng(0)
    for split, ids in (("test", ("1", "2")), ("few_shot", ("7", "8"))):
        for sid in ids:
            d = tmp_path / "data" / split / "Bottle" / sid
            d.mkdir(parents=True)
            write_ply(d / "pc.ply", rng.normal(size=(50, 3)).astype(np.float32), rng.uniform(size=(50, 3)).astype(np.float32))
            save_labels(d / "label.npy", np.zeros(50, np.int32), np.zeros(50, np.int32))
    s = BenchSettings(dataset="partnete", out=str(tmp_path / "o"), root=str(tmp_path), shots=str(tmp_path))
    test, root_shots, reasons = build_test_set(s)
    assert test.ids("Bottle") == ("Bottle/1", "Bottle/2") and root_shots is None
    shots = shots_for("Bottle", s, root_shots, reasons)
    assert shots.ids("Bottle") == ("Bottle/7", "Bottle/8")
    assert shared_shapes(shots, test, "Bottle") == []
    assert "no few-shot shapes of Chair" in shots_for("Chair", s, root_shots, reasons)
    k = s.replace(shots="root:1")
    test, root_shots, reasons = build_test_set(k)
    assert test.ids("Bottle") == ("Bottle/2",) and root_shots.ids("Bottle") == ("Bottle/1",)


def test_method_aliases_are_ablation_rows() -> None:
    from partlift.bench.runner import check_methods
    from partlift.bench.settings import base_method

    s = BenchSettings(dataset="synthetic", out="o", categories=("Chair",),
                      options={"partstad": {"epochs": 7, "masks": True}, "partstad-box": {"lr": 0.1}})
    assert base_method("partstad-box") == "partstad" and base_method("partslip") == "partslip"
    assert s.method_options("partstad-box") == {"epochs": 7, "masks": False, "lr": 0.1}
    assert s.method_options("partstad") == {"epochs": 7, "masks": True}
    check_methods(("partslip", "partstad-box", "partdistill-tta-forward"))
    with pytest.raises(InputError):
        check_methods(("partslap",))


def test_speed_all_prints_one_json_object(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import partlift.bench.speed as speed_rigs
    from partlift.cli.main import main

    monkeypatch.setattr(speed_rigs, "list_stages", lambda: ["synth", "no-such-stage"])
    assert main(["speed", "all", "--json", "--device", "cpu", "--points", "200"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["device"] == "cpu" and payload["machine"]["cpu_count"] >= 1
    assert payload["stages"]["synth"]["stage"] == "synth" and payload["stages"]["synth"]["peak_rss_mb"] > 0
    assert "error" in payload["stages"]["no-such-stage"]


def test_bench_teacher_mode_setting():
    from partlift.bench.evaluate import teacher_options_for
    from partlift.bench.settings import BenchSettings

    plain = BenchSettings(dataset="synthetic", out="o", categories=("Chair",), teacher="learned")
    pixel = BenchSettings(dataset="synthetic", out="o", categories=("Chair",), teacher="learned", teacher_mode="pixel")
    assert "teacher_mode" not in plain.result_key()  # runs made before the option keep their fingerprint
    assert pixel.result_key()["teacher_mode"] == "pixel" and pixel.fingerprint() != plain.fingerprint()
    assert teacher_options_for(pixel) == {"mode": "pixel"} and teacher_options_for(plain) == {}
    with pytest.raises(InputError, match="--teacher-mode applies"):
        BenchSettings(dataset="synthetic", out="o", categories=("Chair",), teacher="owlv2", teacher_mode="box")


def test_bench_superpoint_settings():
    from partlift.bench.evaluate import make_segmenter
    from partlift.bench.settings import BenchSettings
    from partlift.cli.bench import parse_options
    from partlift.superpoints import SuperpointConfig

    plain = BenchSettings(dataset="synthetic", out="o", categories=("Chair",))
    parity = plain.replace(superpoints={"preset": "partslip"})
    assert plain.superpoint_config() == SuperpointConfig()
    assert parity.superpoint_config() == SuperpointConfig.preset("partslip")
    assert plain.result_key()["superpoints"] == SuperpointConfig().to_dict()
    assert parity.fingerprint() != plain.fingerprint()
    assert BenchSettings.from_dict(parity.to_dict()) == parity
    assert make_segmenter(parity).superpoint_config == SuperpointConfig.preset("partslip")
    assert parse_options(["superpoints.preset=partslip", "partstad.epochs=3"], None) == {
        "superpoints": {"preset": "partslip"}, "partstad": {"epochs": 3}}
    with pytest.raises(InputError, match="unknown superpoints setting"):
        parse_options(["superpoints.bogus=1"], None)
    with pytest.raises(InputError, match="unknown setting"):
        plain.replace(superpoints={"bogus": 1})


def test_speed_superpoints_small_warms_up_and_keeps_the_best_call() -> None:
    from partlift.bench.speed.superpoints import speed_superpoints

    r = speed_superpoints(3000, "cpu", repeats=2)
    assert r["stage"] == "superpoints" and r["points"] == 3000 and r["repeats"] == 2
    assert 0 < r["seconds"] and r["seconds_cold"] > 0 and r["cpu_seconds"] >= 0
    assert set(r["seconds_by_step"]) == {"normals", "graph", "minimise", "merge_small"}
    assert 0.5 < r["purity"] <= 1.0 and "real_dev" not in r  # --points given: generated shape only
    with pytest.raises(InputError, match="repeats >= 1"):
        speed_superpoints(3000, "cpu", repeats=0)
