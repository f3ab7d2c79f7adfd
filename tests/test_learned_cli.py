"""The unlabelled path offline (issue 15): `segment --category` with the learned teacher by default,
`teachers` listing its categories, `bench --teacher learned`, the `speed teacher` rig."""

from __future__ import annotations

import json

import numpy as np
import pytest

import learned_tiny  # tests/ helper: random-weights checkpoints of a chosen category subset
from partlift.cli.main import main
from partlift.data.synthetic import (
    export_partnete,
    generate,
    generate_mesh,
    list_categories,
    shape_seed,
)
from partlift.errors import InputError
from partlift.teachers.choose import (
    category_from_path,
    closed_vocabulary,
    coverage_gap,
    default_teacher,
    learned_categories,
)
from partlift.teachers.learned import packaged_checkpoints
from partlift.teachers.learned.checkpoint import read_header

KNOWN = tuple(sorted({c for p in packaged_checkpoints() for c in read_header(p)["categories"]}))
"""The packaged checkpoints' categories (union), read from their headers (all 45 generator
categories with the generalist file shipped); the tests below must pass with any subset."""
KNOWN_TEXT = ", ".join(KNOWN)
TINY_KNOWN = ("Bottle", "KitchenPot")
"""Categories of the tiny checkpoint the tests that need an unknown category build themselves."""
UNKNOWN = "Lamp"  # a generator category the tiny checkpoint does not know
TINY_TEXT = ", ".join(TINY_KNOWN)


@pytest.fixture(scope="module")
def tiny_teacher(tmp_path_factory):
    """A random-weights learned-teacher checkpoint knowing only :data:`TINY_KNOWN`."""
    return learned_tiny.write_tiny_teacher(tmp_path_factory.mktemp("tiny") / "tiny.safetensors", TINY_KNOWN)


@pytest.fixture()
def tiny_packaged(tiny_teacher, monkeypatch):
    """Make the tiny checkpoint the packaged one for one test (what ``learned`` with no file loads)."""
    import partlift.teachers.learned as learned

    monkeypatch.setattr(learned, "packaged_checkpoints", lambda: (tiny_teacher,))
    return tiny_teacher


@pytest.fixture(scope="module")
def pot_glb(tmp_path_factory):
    """An unlabelled KitchenPot mesh file (test split: never seen by the teacher's training) whose
    name says nothing about its category."""
    import trimesh

    lm = generate_mesh("KitchenPot", shape_seed(3, "KitchenPot", 0, "test"))
    path = tmp_path_factory.mktemp("mesh") / "thing.glb"
    path.write_bytes(trimesh.exchange.gltf.export_glb(lm.mesh))
    return path, lm


def test_packaged_checkpoint_categories():
    assert learned_categories() == KNOWN
    assert KNOWN == tuple(sorted(KNOWN)) and set(KNOWN) <= set(list_categories())
    # Every real dev category, whatever else the packaged checkpoint knows (8 or all 45).
    assert {"Bottle", "Bucket", "KitchenPot", "StorageFurniture", "Switch"} <= set(KNOWN)


def test_tiny_checkpoint_knows_only_its_categories(tiny_teacher):
    assert learned_categories(str(tiny_teacher)) == TINY_KNOWN
    assert UNKNOWN in list_categories() and UNKNOWN not in TINY_KNOWN


def test_category_from_path():
    cats = ("Bucket", "KitchenPot", "Chair")
    assert category_from_path("/x/KitchenPot_3.glb", cats) == "KitchenPot"
    assert category_from_path("/data/Bucket/448/mesh.glb", cats) == "Bucket"
    assert category_from_path("/x/kitchenpot.ply", cats) == "KitchenPot"
    assert category_from_path("/x/thing.glb", cats) is None
    assert category_from_path("/data/Bucket/448/mesh.glb") == "Bucket"  # the PartNet-E table


def test_default_teacher_rule(tiny_packaged):
    labelled = generate("Bottle", 1, n_points=500)
    assert default_teacher(labelled, None) == "simulated"
    bare = labelled.replace(semantic=None, instance=None, part_names=None, category=None)
    assert default_teacher(bare, "kitchenpot") == "learned"
    with pytest.raises(InputError) as err:
        default_teacher(bare, UNKNOWN)
    msg = str(err.value)
    assert "\n" not in msg and f"categories {TINY_TEXT})" in msg and "grounding-dino+sam" in msg


def test_segment_unlabelled_mesh_with_category_uses_learned(pot_glb, tmp_path, capsys):
    path, lm = pot_glb
    out = tmp_path / "seg"
    rc = main(["segment", str(path), "--category", "KitchenPot", "--parts", "lid", "handle", "--points", "6000",
               "--preset", "tiny", "--out", str(out)])
    assert rc == 0
    assert "lid" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["teacher"].startswith("learned(") and summary["category"] == "KitchenPot"
    assert {"glb", "face_labels", "views"} <= set(summary["files"])
    faces = np.load(out / "face_labels.npy")  # a plain (F,) array
    assert faces.shape == lm.face_semantic.shape
    lid = lm.face_semantic == 0  # the generator's lid faces: mostly labelled lid by the teacher
    assert np.mean(faces[lid] == 0) > 0.5


def test_segment_unlabelled_errors_are_one_line_exit_2(pot_glb, tmp_path, capsys):
    path, _ = pot_glb
    base = ["segment", str(path), "--points", "2000", "--preset", "tiny", "--out", str(tmp_path / "o")]
    assert main([*base, "--parts", "lid"]) == 2  # no category anywhere
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no category" in err and KNOWN_TEXT in err
    assert main([*base, "--category", "KitchenPot", "--parts", "lid", "spout"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'spout'" in err and "lid, handle" in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_segmenter_category_reaches_the_teacher_and_the_cache_key(pot_glb, tmp_path):
    from partlift.io import load_shape
    from partlift.pipeline import Segmenter

    shape = load_shape(pot_glb[0], n_points=3000)
    assert shape.category is None and shape.semantic is None
    seg = Segmenter(teacher="learned", preset="tiny", cache_dir=tmp_path / "cache")
    as_pot = seg.predictions(shape, ["lid"], category="KitchenPot")
    as_bottle = seg.predictions(shape, ["lid"], category="Bottle")
    # The on-disk cache is shared by both calls: the category must be part of its key.
    scores = [np.sort(p.score) for p in (as_pot, as_bottle)]
    assert len(scores[0]) != len(scores[1]) or not np.allclose(scores[0], scores[1])
    with pytest.raises(InputError, match="category"):
        seg.segment(shape, ["lid"])


def test_coverage_gap_only_for_closed_vocabulary(tiny_teacher):
    from partlift.teachers.registry import build_teacher

    learned = build_teacher(f"learned:{tiny_teacher}")
    assert coverage_gap(learned, "KitchenPot", ("lid", "handle")) is None
    assert coverage_gap(learned, UNKNOWN, ("shade",)).endswith(f"it knows {TINY_TEXT}")
    assert "'spout' is not a part it knows for KitchenPot" in coverage_gap(learned, "KitchenPot", ("spout",))
    assert coverage_gap(build_teacher("simulated"), "Chair", ("seat",)) is None
    assert closed_vocabulary("learned") and closed_vocabulary("learned:/x/t.safetensors+sam")
    assert not closed_vocabulary("simulated:zeroshot") and closed_vocabulary(learned)


def test_teachers_lists_learned_categories(capsys):
    assert main(["teachers"]) == 0
    assert f"categories: {KNOWN_TEXT}" in capsys.readouterr().out
    assert main(["teachers", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["teachers"]}
    assert rows["learned"]["categories"] == list(KNOWN) and "categories" not in rows["simulated"]


def test_bench_learned_skips_unknown_categories(tiny_teacher, tmp_path, capsys):
    root = tmp_path / "root"
    export_partnete([generate(c, shape_seed(5, c, 0, "test"), n_points=3000) for c in ("KitchenPot", UNKNOWN)],
                    root, with_mesh=False)
    out = tmp_path / "bench"
    rc = main(["bench", "--dataset", "partnete", "--root", str(root), "--teacher", f"learned:{tiny_teacher}",
               "--preset", "tiny", "--no-progress", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"skipped partslip on {UNKNOWN}: learned teacher: category '{UNKNOWN}'" in printed
    results = json.loads((out / "results.json").read_text())
    assert set(results["methods"]["partslip"]["per_category"]) == {"KitchenPot"}
    assert results["methods"]["partslip"]["miou"] is not None


def test_speed_teacher_rig():
    from partlift.bench.speed import STAGES
    from partlift.bench.speed.teacher import speed_teacher

    assert "teacher" in STAGES
    r = speed_teacher(2000, "cpu", presets=("tiny",), repeats=1)
    assert r["stage"] == "teacher" and r["views"] == 10 and r["points"] == 2000
    assert r["seconds"] > 0 and set(r["by_preset"]) == {"tiny"} and r["teacher"].startswith("learned(")
    json.dumps(r)


def test_segment_real_dev_mesh_glb_offline(real_dev_root, tmp_path, capsys):
    mesh = real_dev_root / "KitchenPot" / "15" / "mesh.glb"
    out = tmp_path / "real"
    rc = main(["segment", str(mesh), "--category", "KitchenPot", "--parts", "lid", "handle", "--points", "5000",
               "--preset", "tiny", "--no-sheet", "--out", str(out)])
    assert rc == 0
    assert (out / "segmented.glb").is_file() and (out / "face_labels.npy").is_file()
    sem = np.load(out / "semantic.npy")
    assert sem.shape == (5000,) and set(np.unique(sem)) <= {-1, 0, 1} and (sem == 0).any()
    capsys.readouterr()


def test_predictions_for_a_prepared_shape_keep_its_category():
    """PartSTAD's fit asks for predictions on prepared shapes (``predictions_for``): the learned
    teacher must see the shape's own category there (it used to be dropped: 'category unknown')."""
    from partlift.pipeline import Segmenter

    shape = generate("KitchenPot", shape_seed(5, "KitchenPot", 0, "shots"), n_points=3000)
    seg = Segmenter(teacher="learned", preset="tiny", cache_dir=None)
    prepared = seg.prepare(shape)
    preds = seg.predictions_for(prepared, ["lid", "handle"])
    assert preds.part_names == ("lid", "handle")


# -- --category on predict and distill (the segment rule, partlift.cli.category) -----------------

def test_predict_unlabelled_mesh_with_category_uses_learned(pot_glb, tmp_path, capsys):
    path, _ = pot_glb
    out = tmp_path / "pred"
    assert main(["predict", str(path), "--category", "KitchenPot", "--points", "4000", "--preset", "tiny",
                 "--no-cache", "--out", str(out)]) == 0
    data = json.loads((out / "predictions.json").read_text())
    assert data["teacher"].startswith("learned(") and data["part_names"] == ["lid", "handle"]
    assert "lid" in {r["part"] for r in data["predictions"]}
    # The category from the file name, as segment reads it: the same predictions.
    named = tmp_path / "KitchenPot_3.glb"
    named.write_bytes(path.read_bytes())
    capsys.readouterr()
    assert main(["predict", str(named), "--points", "4000", "--preset", "tiny", "--no-cache",
                 "--out", str(tmp_path / "named")]) == 0
    assert json.loads((tmp_path / "named" / "predictions.json").read_text())["predictions"] == data["predictions"]


def test_predict_category_errors_are_one_line_exit_2(pot_glb, tiny_teacher, tmp_path, capsys):
    path, _ = pot_glb
    out = tmp_path / "o"
    base = ["predict", str(path), "--points", "2000", "--preset", "tiny", "--no-cache", "--out", str(out)]
    capsys.readouterr()
    assert main([*base, "--teacher", f"learned:{tiny_teacher}", "--category", UNKNOWN]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"category '{UNKNOWN}'" in err and err.endswith(f"it knows {TINY_TEXT}")
    assert main([*base, "--teacher", f"learned:{tiny_teacher}", "--category", "KitchenPot",
                 "--parts", "lid", "spout"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'spout'" in err and "lid, handle" in err
    assert main(base) == 2  # unlabelled, no category anywhere, no --teacher
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no category" in err and KNOWN_TEXT in err
    assert not out.exists()  # refused before any work


DISTILL = ["--config", "tiny", "--preset", "tiny", "--points", "1500", "--no-progress"]


def test_distill_folder_of_unlabelled_meshes_with_category(pot_glb, tmp_path, capsys):
    folder = tmp_path / "meshes"
    folder.mkdir()
    (folder / "thing.glb").write_bytes(pot_glb[0].read_bytes())  # the name says no category
    out = tmp_path / "pot.safetensors"
    rc = main(["distill", "--collection", str(folder), "--category", "KitchenPot", "--teacher", "learned",
               "--teacher-mode", "pixel", "--cache", str(tmp_path / "know"), "--out", str(out), *DISTILL])
    assert rc == 0
    log = json.loads((tmp_path / "pot.log.json").read_text())
    meta = log["meta"]
    assert meta["category"] == "KitchenPot" and meta["collection"]["n_shapes"] == 1
    assert meta["teacher"].startswith("learned(") and meta["teacher"].endswith(",pixel)[KitchenPot]")
    assert "lid" in capsys.readouterr().out


def test_distill_category_errors_are_one_line_exit_2(tiny_teacher, tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    base = ["distill", "--collection", f"synthetic:{UNKNOWN}:1", "--out", str(out), *DISTILL]
    assert main([*base, "--teacher", f"learned:{tiny_teacher}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"category '{UNKNOWN}'" in err and err.endswith(f"it knows {TINY_TEXT}")
    assert main([*base, "--teacher", f"learned:{tiny_teacher}", "--category", "KitchenPot"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "contradicts" in err
    pot = ["distill", "--collection", "synthetic:KitchenPot:1", "--out", str(out), *DISTILL]
    assert main([*pot, "--teacher", f"learned:{tiny_teacher}", "--parts", "lid", "spout"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'spout'" in err and "lid, handle" in err
    assert not list(tmp_path.iterdir())  # refused before any work


def test_category_default_wrapper(tiny_teacher):
    from partlift.teachers.category import CategoryDefault, with_default_category
    from partlift.teachers.registry import build_teacher

    learned = build_teacher(f"learned:{tiny_teacher}")
    wrapped = with_default_category(learned, "KitchenPot")
    assert isinstance(wrapped, CategoryDefault) and wrapped.name == f"{learned.name}[KitchenPot]"
    assert wrapped.kind == learned.kind and wrapped.vocab is learned.vocab and wrapped.needs_category
    simulated = build_teacher("simulated")
    assert with_default_category(simulated, "KitchenPot") is simulated  # not category-conditioned
    assert with_default_category(learned, None) is learned
    with pytest.raises(InputError, match="category"):
        CategoryDefault(learned, " ")
