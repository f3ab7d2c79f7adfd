"""Teacher registry: listing, availability with install hints, spec parsing, building."""

from __future__ import annotations

import dataclasses

import pytest

from partlift.cli.main import main
from partlift.errors import InputError, UnavailableError
from partlift.teachers import registry
from partlift.teachers.base import Teacher
from partlift.teachers.registry import (
    TEACHERS,
    available_teachers,
    build_teacher,
    list_teachers,
    parse_teacher_spec,
    teacher_status,
)
from partlift.teachers.simulated import SimulatedTeacher


def test_listing_sorted_and_complete():
    names = [s.name for s in list_teachers()]
    assert names == sorted(names)
    assert {"simulated", "grounding-dino", "owlv2", "sam", "clipseg"} <= set(names)
    assert "simulated" in available_teachers()
    kinds = {s.name: s.kind for s in list_teachers()}
    assert kinds["sam"] == "refiner" and kinds["clipseg"] == "pixel" and kinds["owlv2"] == "box"
    for s in list_teachers():
        module, sep, func = s.builder.partition(":")
        assert sep and module.startswith("partlift.teachers.") and func == "build"


def test_parse_spec():
    assert parse_teacher_spec("simulated") == [("simulated", None)]
    assert parse_teacher_spec("Simulated:fewshot") == [("simulated", "fewshot")]
    assert parse_teacher_spec("grounding-dino:some/model+sam") == [
        ("grounding-dino", "some/model"),
        ("sam", None),
    ]
    for bad in ("", "simulated:", "+sam", "a+b+c"):
        with pytest.raises(InputError):
            parse_teacher_spec(bad)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(InputError, match="grounding-dino") as exc:
        build_teacher("glip")
    assert "glip" in str(exc.value)
    with pytest.raises(InputError):
        teacher_status("glip")


def test_build_simulated():
    t = build_teacher("simulated")
    assert isinstance(t, SimulatedTeacher) and isinstance(t, Teacher)
    assert t.name == "simulated:zeroshot" and t.kind == "mask" and t.needs_ground_truth
    t = build_teacher("simulated:oracle", seed=3, mode="pixel")
    assert t.profile.name == "oracle" and t.noise_seed == 3 and t.kind == "pixel"
    assert t.name == "simulated:oracle(mode=pixel,seed=3)"
    assert build_teacher("simulated:zeroshot@0.5").profile.name == "zeroshot@0.5"
    assert build_teacher(t) is t
    with pytest.raises(InputError, match="profile"):
        build_teacher("simulated:nonsense")
    with pytest.raises(InputError, match="options"):
        build_teacher("simulated", temperature=2)


def test_refiner_rules():
    with pytest.raises(InputError, match="not a teacher by itself"):
        build_teacher("sam")
    with pytest.raises(InputError, match="refiner"):
        build_teacher("simulated+owlv2")


def test_missing_requirement_gives_install_hint(monkeypatch, capsys):
    fake = dataclasses.replace(TEACHERS["owlv2"], requires=("partlift_no_such_module_xyz",))
    monkeypatch.setitem(registry.TEACHERS, "owlv2", fake)
    ok, reason = teacher_status("owlv2")
    assert not ok and "pip install 'partlift[hf]'" in reason
    assert "owlv2" not in available_teachers()
    with pytest.raises(UnavailableError, match=r"pip install 'partlift\[hf\]'"):
        build_teacher("owlv2")
    with pytest.raises(UnavailableError):
        build_teacher("owlv2+sam")
    assert main(["teachers"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("owlv2"))
    assert "unavailable" in line and "pip install 'partlift[hf]'" in line
    assert main(["teachers", "--json"]) == 0


def test_cli_unavailable_teacher_is_one_line_error(monkeypatch, capsys, tmp_path):
    fake = dataclasses.replace(TEACHERS["owlv2"], requires=("partlift_no_such_module_xyz",))
    monkeypatch.setitem(registry.TEACHERS, "owlv2", fake)
    rc = main(["predict", str(tmp_path / "x.ply"), "--teacher", "owlv2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "pip install 'partlift[hf]'" in err and len(err.strip().splitlines()) == 1


def test_mode_options():
    from partlift.teachers.registry import mode_options

    assert mode_options("learned", None) == {}
    assert mode_options("learned:/x/t.safetensors", "pixel") == {"mode": "pixel"}
    assert mode_options("simulated:zeroshot+sam", "box") == {"mode": "box"}
    with pytest.raises(InputError, match="applies to the simulated and learned teachers only"):
        mode_options("grounding-dino", "pixel")
    with pytest.raises(InputError, match="expected one of"):
        mode_options("learned", "polygon")
