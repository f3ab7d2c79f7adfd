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
    base_method,
    get_method,
    list_methods,
    method_config,
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
