"""The method registry, the Settings base and the --set grammar (docs/methods.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from partlift.config import RenderConfig, Settings
from partlift.errors import InputError
from partlift.methods import (
    METHODS,
    MethodContext,
    MethodSpec,
    apply_preset,
    base_method,
    get_method,
    list_methods,
    method_config,
    method_preset,
    setting_keys,
)
from partlift.overrides import check_set, parse_set
from partlift.types import MethodResult


@dataclass(frozen=True)
class NearestConfig(Settings):
    """A toy method's settings: every point gets part ``part``."""

    part: int = 0

    @classmethod
    def from_options(cls, options, context=None):
        cls.check_keys(options or {}, "nearest options")
        return cls(**dict(options or {}))


def run_nearest(prepared, predictions, config, context):
    n, c = prepared.shape.n_points, len(predictions.part_names)
    sem = np.full(n, config.part, np.int64)
    return MethodResult(sem, np.full(n, -1, np.int64), np.zeros((n, c), np.float32),
                        {"nearest": config.to_dict(), "seed": context.seed, "teacher": context.teacher})


NEAREST = MethodSpec(name="nearest", description="toy", run=f"{__name__}:run_nearest",
                     config=f"{__name__}:NearestConfig")


def test_registry_lists_methods_and_variants() -> None:
    assert {"partslip", "partstad", "partdistill", "partdistill-tta"} <= set(list_methods(variants=False))
    assert "partstad-box" in list_methods() and "partstad-box" not in list_methods(variants=False)
    assert list_methods() == sorted(METHODS)
    assert base_method("partstad-box") == "partstad" and base_method("partslip") == "partslip"
    assert get_method("partdistill").needs == ("collection", "student")
    with pytest.raises(InputError, match="unknown method 'nope'.*partslip"):
        get_method("nope")


def test_variant_overrides_come_before_user_options() -> None:
    ctx = MethodContext(seed=3, teacher="t")
    cfg = method_config("partdistill-tta-forward", {"preset": "tiny"}, ctx)
    assert cfg.distill_config.backward is False and cfg.distill_config.seed == 3
    assert cfg.distill_config.epochs == 4  # the tiny preset
    assert method_config("partstad-box", {"weights": "w.safetensors"}, ctx).masks is False
    with pytest.raises(InputError, match="valid ones are"):
        method_config("partstad", {"epochs": 3}, ctx)


def test_partslip_config_starts_from_the_run_vote_settings() -> None:
    from partlift.lifting.voting import VoteConfig

    ctx = MethodContext(vote=VoteConfig(vote_threshold=0.4))
    cfg = method_config("partslip", {"region": "mask"}, ctx)
    assert cfg.region == "mask" and cfg.vote_threshold == 0.4
    with pytest.raises(InputError, match="region"):
        method_config("partslip", {"nonsense": 1}, ctx)


def test_each_method_has_a_named_preset_of_its_own_name_as_data() -> None:
    from partlift.distill.config import DISTILL_PRESETS, DistillConfig
    from partlift.lifting.config import VoteConfig
    from partlift.stad.config import StadConfig

    for name, own in (("partslip", "partslip"), ("partstad", "partstad"), ("partdistill", "partdistill"),
                      ("partdistill-tta", "partdistill")):
        assert own in get_method(name).presets, name
        assert "preset" in setting_keys(name)
    # Every preset names settings of its method (checked by the settings classes).
    for preset in get_method("partslip").presets:
        VoteConfig().replace(**method_preset("partslip", preset))
    assert StadConfig().replace(**get_method("partstad").preset("partstad")) == StadConfig()  # the paper = defaults
    released = StadConfig().replace(**get_method("partstad").preset("released"))
    assert released.released_quirks and released.min_visible_points == 2
    assert released.vote_rules() == VoteConfig(aabb_zero_area_quirk=True, whole_object_ratio=2.0)
    assert set(DISTILL_PRESETS) <= set(get_method("partdistill").presets)
    assert get_method("partdistill").preset("partdistill") == {"distill_config": "default"}
    assert DISTILL_PRESETS["released"] == DistillConfig()  # the dataclass defaults = before issue 16
    assert DISTILL_PRESETS["default"] == DistillConfig(pool="superpoints", rescore_class_norm=True,
                                                      rescore_combine="multiply")
    # A variant uses its base's presets; a returned preset is a copy.
    assert get_method("partstad-box").preset("released") == get_method("partstad").preset("released")
    get_method("partstad").preset("released")["vote"]["aabb_zero_area_quirk"] = False
    assert get_method("partstad").preset("released")["vote"]["aabb_zero_area_quirk"] is True
    with pytest.raises(InputError, match=r"unknown preset 'nope'; choose one of \['exact', 'partslip'\]"):
        get_method("partslip").preset("nope")


def test_a_method_preset_from_python_and_from_set_is_the_same() -> None:
    ctx = MethodContext(seed=2, teacher="t")
    # Python: method_options={"preset": ...}; CLI: --set partslip.preset=exact (parse_set -> the same dict).
    from_set = parse_set(["partslip.preset=exact"], what="t")
    check_set(from_set, ["partslip"], what="t")
    assert from_set == {"partslip": {"preset": "exact"}}
    cfg = method_config("partslip", from_set["partslip"], ctx)
    assert cfg.aabb_zero_area_quirk is False and cfg.region == "box"
    assert method_config("partslip", {"preset": "partslip"}, ctx).aabb_zero_area_quirk is True
    # The user's own keys win over the preset's.
    assert method_config("partslip", {"preset": "exact", "aabb_zero_area_quirk": True}, ctx).aabb_zero_area_quirk
    # PartSTAD's presets are training settings: the run config keeps what it reads; variants still apply.
    assert method_config("partstad-box", {"preset": "released", "weights": "w"}, ctx).masks is False
    assert apply_preset("partstad", {"preset": "released", "epochs": 3})["epochs"] == 3
    assert apply_preset("partstad", {"epochs": 3}) == {"epochs": 3}
    tta = method_config("partdistill-tta", {"preset": "tiny"}, ctx).distill_config
    assert tta.epochs == 4 and tta.seed == 2
    with pytest.raises(InputError, match="unknown preset 'fast'"):
        method_config("partdistill", {"preset": "fast"}, ctx)  # a render preset is not a method preset


def test_fit_weights_cli_reads_method_presets(tmp_path, monkeypatch) -> None:
    import partlift.stad.fit_weights as fw
    from partlift.cli.main import main

    seen = {}

    def fake_fit_weights(**kwargs):
        seen.update(kwargs)
        raise InputError("stop here")

    monkeypatch.setattr(fw, "fit_weights", fake_fit_weights)
    rc = main(["fit-weights", "--shots", "synthetic:4", "--category", "Chair", "--out", str(tmp_path / "w.safetensors"),
               "--set", "partstad.preset=released", "--set", "partstad.epochs=3"])
    assert rc == 2 and seen
    cfg = seen["config"]
    assert cfg.released_quirks and cfg.min_visible_points == 2 and cfg.epochs == 3
    assert cfg.vote == {"aabb_zero_area_quirk": True, "whole_object_ratio": 2.0}


def test_adding_a_method_is_one_module_and_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from partlift.data.synthetic import generate
    from partlift.pipeline import Segmenter

    monkeypatch.setitem(METHODS, "nearest", NEAREST)
    shape = generate("Chair", seed=0, n_points=800)
    seg = Segmenter("simulated:oracle", method="nearest", preset="tiny", seed=5, method_options={"part": 2},
                    cache_dir=None)
    labels = seg.segment(shape)
    assert (labels.semantic == 2).all() and labels.meta["seed"] == 5
    assert labels.meta["teacher"] == seg.teacher.name and labels.meta["nearest"] == {"part": 2}
    assert setting_keys("nearest") == ("part",)
    with pytest.raises(InputError, match="part"):
        Segmenter("simulated:oracle", method="nearest", preset="tiny", method_options={"x": 1},
                  cache_dir=None).segment(shape)


def test_settings_base_replace_round_trip_and_unknown_keys() -> None:
    cfg = RenderConfig().replace(image_size=64, views=[[0, 0], [10, 90]])
    assert cfg.views == ((0, 0), (10, 90))
    assert RenderConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(InputError, match="valid ones are .*image_size"):
        cfg.replace(imagesize=3)
    with pytest.raises(InputError, match="unknown"):
        RenderConfig.from_dict({"nope": 1})
    with pytest.raises(InputError, match="image_size"):
        cfg.replace(image_size=0)


def test_set_grammar() -> None:
    got = parse_set(["partstad.masks=false", "partslip.region=mask", "render.image_size=64",
                     "partdistill.preset=tiny"])
    assert got == {"partstad": {"masks": False}, "partslip": {"region": "mask"}, "render": {"image_size": 64},
                   "partdistill": {"preset": "tiny"}}
    check_set(got, ["partstad", "partslip", "render", "partdistill"])
    with pytest.raises(InputError, match="SECTION.KEY=VALUE"):
        parse_set(["partstad=1"])
    with pytest.raises(InputError, match="unknown section 'foo'"):
        check_set({"foo": {"x": 1}}, ["partslip"])
    with pytest.raises(InputError, match="valid keys are .*region"):
        check_set({"partslip": {"nonsense": 1}}, ["partslip"])


@pytest.mark.parametrize("flag", ["--set", "--option"])
def test_bench_refuses_unknown_settings(flag: str, tmp_path, capsys) -> None:
    from partlift.cli.main import main

    rc = main(["bench", "--dataset", "synthetic", "--categories", "Chair", "--count", "1", "--preset", "tiny",
               flag, "partslip.nonsense=1", "--out", str(tmp_path / "b")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nonsense" in err and "region" in err and "vote_threshold" in err
    assert not (tmp_path / "b").exists()


def test_bench_partslip_options_reach_the_vote() -> None:
    from partlift.bench.settings import BenchSettings

    s = BenchSettings(dataset="synthetic", out="x", categories=("Chair",), options={"partslip": {"region": "mask"}})
    assert s.method_options("partslip") == {"region": "mask"}
    assert s.method_options("partstad-box") == {"masks": False}
    with pytest.raises(InputError, match="unknown method 'nope'"):
        BenchSettings(dataset="synthetic", out="x", categories=("Chair",), options={"nope": {}})


def test_one_shape_source_grammar() -> None:
    from partlift.sources import parse_source

    assert parse_source("synthetic:8").count == 8 and parse_source("root:2").kind == "root"
    src = parse_source("synthetic:Chair:5:val:3")
    assert (src.kind, src.category, src.count, src.split, src.seed) == ("synthetic-category", "Chair", 5, "val", 3)
    assert parse_source("data/few").path == "data/few"
    with pytest.raises(InputError, match="not accepted here; expected 'synthetic:N' or 'root:K'"):
        parse_source("synthetic:Chair:5", "--shots", allow=("synthetic", "root"))
    for bad in ("synthetic:", "root:x", "synthetic:0", " ", "synthetic:Chair"):
        with pytest.raises(InputError):
            parse_source(bad)
