"""`partlift segment` and `partlift demo` end to end through the CLI (STYLE §15)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from partlift.cli.main import main
from partlift.data.synthetic import export_partnete, generate


@pytest.fixture(scope="module")
def chair_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    export_partnete([generate("Chair", seed=5, n_points=5000)], root)
    return next(p for p in sorted((root / "Chair").iterdir()) if p.is_dir())


def test_segment_writes_every_output(chair_dir, tmp_path, capsys):
    out = tmp_path / "seg"
    rc = main(["segment", str(chair_dir), "--teacher", "simulated:oracle", "--preset", "tiny", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "mIoU" in printed
    sem = np.load(out / "semantic.npy")
    assert sem.shape == (5000,) and sem.dtype == np.int64
    assert np.load(out / "instance.npy").shape == (5000,)
    assert (out / "segmented.ply").is_file() and (out / "views.png").is_file()
    assert list((out / "parts").glob("*.ply"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parts"] == ["arm", "back", "leg", "seat", "wheel"]
    assert 0.4 < summary["miou"] <= 1.0
    assert {"partlift", "torch", "numpy"} <= set(summary["versions"])
    assert summary["settings"]["teacher"].startswith("simulated:oracle")


def test_segment_vote_region_mask_is_used_and_recorded(chair_dir, tmp_path):
    args = ["segment", str(chair_dir), "--teacher", "simulated:oracle", "--preset", "tiny", "--no-sheet"]
    assert main([*args, "--out", str(tmp_path / "box")]) == 0
    assert main([*args, "--vote-region", "mask", "--out", str(tmp_path / "mask")]) == 0
    box = json.loads((tmp_path / "box" / "summary.json").read_text())
    mask = json.loads((tmp_path / "mask" / "summary.json").read_text())
    assert json.dumps(mask).count('"region": "mask"') >= 1 and '"region": "mask"' not in json.dumps(box)
    assert not np.array_equal(np.load(tmp_path / "box" / "semantic.npy"), np.load(tmp_path / "mask" / "semantic.npy"))


MESH_SEED = 6
FACE_AGREEMENT_MIN = 0.75  # share of faces labelled as the generator labels them (measured 0.87)


class _FaceTruthTeacher:
    """The simulated oracle for a mesh file that carries no labels: every sampled point takes
    the generator's label of the face it lies on (a GLB keeps the face order; ``face_index``
    maps points to faces), then the oracle predicts from those labels. The teacher itself reads
    no ground truth from the shape it is given."""

    name = "face-truth"
    kind = "mask"
    needs_ground_truth = False

    def __init__(self) -> None:
        from partlift.teachers.registry import build_teacher

        self.source = generate("Chair", seed=MESH_SEED, n_points=1000)
        self.oracle = build_teacher("simulated:oracle", seed=0)

    def predict(self, views, part_names, shape):
        src = self.source
        labelled = shape.replace(semantic=src.face_semantic[shape.face_index],
                                 instance=src.face_instance[shape.face_index], part_names=src.part_names)
        return self.oracle.predict(views, part_names, labelled)


def _build_face_truth(**_options):
    return _FaceTruthTeacher()


def test_segment_mesh_input_writes_glb_and_face_labels(tmp_path, monkeypatch, capsys):
    import trimesh

    from partlift.teachers import registry

    source = generate("Chair", seed=MESH_SEED, n_points=1000)
    mesh_path = tmp_path / "chair.glb"
    source.mesh.export(mesh_path)
    # A bare mesh has no ground truth: the simulated teacher refuses it with one line.
    rc = main(["segment", str(mesh_path), "--parts", "seat", "--teacher", "simulated:oracle",
               "--preset", "tiny", "--points", "3000", "--out", str(tmp_path / "refused")])
    assert rc == 2 and "no ground-truth part labels" in capsys.readouterr().err
    # With a teacher that needs no labels on the shape, the mesh is segmented and its faces labelled.
    monkeypatch.setitem(registry.TEACHERS, "face-truth", registry.TeacherSpec(
        name="face-truth", kind="mask", description="test: oracle from the generator's face labels",
        builder=f"{__name__}:_build_face_truth"))
    out = tmp_path / "o"
    rc = main(["segment", str(mesh_path), "--parts", *source.part_names, "--teacher", "face-truth",
               "--preset", "tiny", "--points", "3000", "--no-sheet", "--out", str(out)])
    assert rc == 0
    n_faces = len(source.mesh.faces)
    faces = {"semantic_seg": np.load(out / "face_labels.npy"),  # plain arrays, no pickle
             "instance_seg": np.load(out / "face_instances.npy")}
    assert faces["semantic_seg"].shape == (n_faces,) and faces["instance_seg"].shape == (n_faces,)
    agree = float(np.mean(faces["semantic_seg"] == source.face_semantic))
    assert agree > FACE_AGREEMENT_MIN, agree
    glb = trimesh.load(next(out.glob("*.glb")), force="mesh")
    assert len(glb.faces) == n_faces
    colours = np.asarray(glb.visual.face_colors)[:, :3]
    assert len({tuple(c) for c in colours}) >= len(set(faces["semantic_seg"].tolist()))  # one colour per part
    summary = json.loads((out / "summary.json").read_text())
    assert {"glb", "face_labels"} <= set(summary["files"])
    assert np.load(out / "semantic.npy").shape == (3000,)


def test_segment_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["segment", str(tmp_path / "missing.ply"), "--parts", "seat", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("partlift segment: error:") and "\n" not in err


def test_demo_runs_offline_and_prints_a_table(tmp_path, capsys):
    rc = main(["demo", "--categories", "Chair", "Bottle", "--count", "1", "--points", "3000",
               "--preset", "tiny", "--learned-count", "1", "--out", str(tmp_path / "demo")])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Chair" in printed and "overall" in printed
    assert "learned teacher" in printed and "| mIoU" in printed
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    from partlift.cli.demo import LEARNED_DEMO_CATEGORIES
    from partlift.teachers.choose import learned_categories

    # The fixed demo set the checkpoint knows (all 8 with today's file; still 8 with an all-45 one).
    known = learned_categories()
    assert set(results["learned"]["per_category"]) == set(LEARNED_DEMO_CATEGORIES) & set(known)
    assert results["learned"]["checkpoint_categories"] == len(known)
    assert (tmp_path / "demo" / "learned" / "KitchenPot_0.glb").is_file()
    assert [r["category"] for r in results["categories"]] == ["Chair", "Bottle"]
    assert (tmp_path / "demo" / "Chair" / "views.png").is_file()


def test_demo_learned_categories_do_not_grow_with_the_checkpoint(tmp_path, capsys):
    from partlift.cli.demo import LEARNED_DEMO_CATEGORIES, learned_demo_categories
    from partlift.data.synthetic import list_categories
    from partlift.errors import InputError

    all45 = list(list_categories())
    assert len(all45) == 45
    assert learned_demo_categories(all45) == sorted(LEARNED_DEMO_CATEGORIES)  # a 45-category checkpoint
    assert learned_demo_categories(["Bottle", "Lamp", "Mug"]) == ["Bottle"]
    assert learned_demo_categories(["Lamp", "Mug"]) == ["Lamp", "Mug"]  # none of the set: the first ones
    assert learned_demo_categories(all45, ["all"]) == all45
    assert learned_demo_categories(all45, ["lamp", "Chair", "Lamp"]) == ["Chair", "Lamp"]
    with pytest.raises(InputError, match="it knows Bottle, Mug"):
        learned_demo_categories(["Bottle", "Mug"], ["Lamp"])
    # From the command line: refused before the simulated section runs.
    assert main(["demo", "--categories", "Chair", "--count", "1", "--learned-categories", "Nope",
                 "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'Nope'" in err and not (tmp_path / "d").exists()


def test_segment_set_reaches_the_stages_and_the_method(chair_dir, tmp_path, capsys):
    out = tmp_path / "set"
    rc = main(["segment", str(chair_dir), "--teacher", "simulated:zeroshot", "--preset", "tiny", "--no-sheet",
               "--set", "render.image_size=96", "--set", "partslip.region=mask", "--option",
               "partslip.vote_threshold=0.4", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    meta = json.dumps(summary)
    assert '"image_size": 96' in meta and '"region": "mask"' in meta and '"vote_threshold": 0.4' in meta
    capsys.readouterr()
    for bad, named in (("partslip.nonsense=1", "vote_threshold"), ("render.size=3", "image_size"),
                       ("partstad.epochs=3", "superpoints")):
        rc = main(["segment", str(chair_dir), "--preset", "tiny", "--set", bad, "--out", str(tmp_path / "x")])
        assert rc == 2
        assert named in capsys.readouterr().err


def test_segment_teacher_mode_reaches_the_teacher(chair_dir, tmp_path, capsys):
    out = tmp_path / "pix"
    rc = main(["segment", str(chair_dir), "--teacher", "simulated:oracle", "--teacher-mode", "pixel",
               "--preset", "tiny", "--no-sheet", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "pixel" in summary["settings"]["teacher"]  # the teacher's name says its mode
    capsys.readouterr()
    rc = main(["segment", str(chair_dir), "--teacher", "grounding-dino", "--teacher-mode", "pixel",
               "--preset", "tiny", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--teacher-mode applies to the simulated and learned" in err[0]


def test_learned_teacher_takes_its_pixel_role_for_partdistill_tta():
    """Without --teacher-mode the learned teacher answers PartDistill TTA in pixel mode (its
    measured best); other pairs keep the teacher's default; an explicit mode wins."""
    import argparse

    from partlift.cli.segment import teacher_mode

    def ns(method, mode=None):
        return argparse.Namespace(method=method, teacher_mode=mode)

    assert teacher_mode("learned", ns("partdistill-tta")) == "pixel"
    assert teacher_mode("learned:/x/teacher.safetensors", ns("partdistill-tta-forward")) == "pixel"
    assert teacher_mode("learned", ns("partdistill-tta", "mask")) == "mask"
    assert teacher_mode("learned", ns("partslip")) is None
    assert teacher_mode("simulated:zeroshot", ns("partdistill-tta")) is None
