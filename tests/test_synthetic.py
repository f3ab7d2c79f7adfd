"""Procedural part-labelled shapes (partlift.data.synthetic): labels, variety, connectivity,
determinism, PartNet-E export and read-back, CLI and preview."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import trimesh
from PIL import Image
from scipy.spatial import cKDTree

from partlift.cli.main import main
from partlift.data import synthetic
from partlift.data.meta import part_names as meta_part_names
from partlift.data.partnete import PartNetEDataset
from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.export import export_partnete
from partlift.data.synthetic.materials import Material
from partlift.data.synthetic.preview import preview_sheet
from partlift.data.synthetic.primitives import box
from partlift.errors import InputError

CATEGORIES = synthetic.list_categories()
SHAPES_PER_CATEGORY = 12  # meshes per category for the part-share check
# Every part must show up in these 12 shapes; the rarest parts (a table's door or wheel, a trash
# can's door) are drawn for ~20-25% of shapes by the generators.
MIN_SHARE = 1 / SHAPES_PER_CATEGORY


@pytest.fixture(scope="module")
def meshes() -> dict[str, list[synthetic.LabelledMesh]]:
    return {
        cat: [synthetic.generate_mesh(cat, synthetic.shape_seed(0, cat, i, "test")) for i in range(SHAPES_PER_CATEGORY)]
        for cat in CATEGORIES
    }


def _surface_grid(vertices: np.ndarray, faces: np.ndarray, tol: float) -> np.ndarray:
    """Points covering every triangle with spacing <= tol along its two edges from vertex 0."""
    tri = vertices[faces]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    n1 = np.maximum(np.ceil(np.linalg.norm(e1, axis=1) / tol).astype(np.int64), 1)
    n2 = np.maximum(np.ceil(np.linalg.norm(e2, axis=1) / tol).astype(np.int64), 1)
    count = (n1 + 1) * (n2 + 1)
    f = np.repeat(np.arange(len(tri)), count)
    idx = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    a = (idx // (n2[f] + 1)) / n1[f]
    b = (idx % (n2[f] + 1)) / n2[f]
    keep = a + b <= 1 + 1e-9
    f, a, b = f[keep], a[keep], b[keep]
    return tri[f, 0] + a[:, None] * e1[f] + b[:, None] * e2[f]


def _n_pieces(vertices: np.ndarray, faces: np.ndarray, rel_tol: float = 0.03) -> int:
    """Connected pieces of a face set: surfaces closer than rel_tol x its bbox diagonal touch."""
    pts = vertices[faces].reshape(-1, 3)
    tol = max(rel_tol * float(np.linalg.norm(pts.max(0) - pts.min(0))), 1e-4)
    grid = _surface_grid(vertices, faces, tol)
    pairs = cKDTree(grid).query_pairs(1.5 * tol, output_type="ndarray")
    g = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(grid),) * 2)
    return int(sp.csgraph.connected_components(g, directed=False)[0])


# ---------------------------------------------------------------------------------------------
# categories and labels


# the categories added for full coverage (issue 14); the other 21 are pinned by benchmark tables
ADDED = ("Camera", "Cart", "Clock", "CoffeeMachine", "Dispenser", "FoldingChair", "Globe", "Keyboard", "Knife",
         "Lighter", "Mouse", "Pen", "Phone", "Pliers", "Printer", "Remote", "Safe", "Scissors", "Stapler", "Switch",
         "Toaster", "Toilet", "USB", "Window")


def test_all_45_partnete_categories_with_partnete_names():
    meta = json.loads((Path(synthetic.__file__).parents[1] / "PartNetE_meta.json").read_text())
    assert CATEGORIES == sorted(meta) and len(CATEGORIES) == 45
    assert set(ADDED) <= set(CATEGORIES)
    assert CATEGORIES == sorted(CATEGORIES)
    for cat in CATEGORIES:
        assert synthetic.category_parts(cat) == meta_part_names(cat)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_generates_valid_labels(category):
    shape = synthetic.generate(category, 5, n_points=2000)
    names = meta_part_names(category)
    assert shape.part_names == names and shape.category == category
    assert shape.xyz.shape == (2000, 3) and shape.xyz.dtype == np.float32
    assert shape.rgb is not None and shape.rgb.dtype == np.float32 and shape.normals is not None
    assert shape.semantic.dtype == np.int64 and shape.instance.dtype == np.int64
    assert shape.semantic.min() >= -1 and shape.semantic.max() < len(names)
    # per-point labels are the sampled faces' labels; -1 in one iff -1 in the other
    np.testing.assert_array_equal(shape.semantic, shape.face_semantic[shape.face_index])
    np.testing.assert_array_equal(shape.instance, shape.face_instance[shape.face_index])
    np.testing.assert_array_equal(shape.face_semantic < 0, shape.face_instance < 0)
    # instance ids are 0..K-1 and each instance has one part label
    ids = np.unique(shape.face_instance[shape.face_instance >= 0])
    np.testing.assert_array_equal(ids, np.arange(len(ids)))
    for i in ids:
        assert len(np.unique(shape.face_semantic[shape.face_instance == i])) == 1
    # standing on the floor, y up, object-sized
    lo, hi = shape.mesh.bounds
    assert 0.05 < np.linalg.norm(hi - lo) < 5.0


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_part_appears_in_a_reasonable_share(meshes, category):
    names = meta_part_names(category)
    present = np.zeros(len(names))
    for lm in meshes[category]:
        present[np.unique(lm.face_semantic[lm.face_semantic >= 0])] += 1
    share = present / len(meshes[category])
    missing = {n: s for n, s in zip(names, share, strict=True) if s < MIN_SHARE}
    assert not missing, f"{category}: parts too rare in {len(meshes[category])} shapes: {missing}"
    # variety: part counts, face counts and proportions differ between shapes
    sigs = set()
    for lm in meshes[category]:
        ext = np.ptp(lm.mesh.vertices, axis=0)
        sigs.add((lm.n_instances, len(lm.mesh.faces), tuple(np.round(ext / ext.max(), 2))))
    assert len(sigs) >= SHAPES_PER_CATEGORY // 2


@pytest.mark.parametrize("category", ADDED)
def test_added_categories_stand_on_the_floor_and_are_deterministic(meshes, category):
    for lm in meshes[category][:4]:
        lo, hi = lm.mesh.bounds
        assert abs(lo[1]) < 0.02, f"{lm.name}: lowest point y = {lo[1]:.3f}, expected on the floor (y = 0)"
        assert 0.03 < (hi - lo).max() < 2.5, f"{lm.name}: extent {hi - lo}"
    seed = synthetic.shape_seed(0, category, 0, "test")
    a = synthetic.generate(category, seed, n_points=1000)
    b = synthetic.generate(category, seed, n_points=1000)
    for f in ("xyz", "rgb", "semantic", "instance"):
        assert getattr(a, f).tobytes() == getattr(b, f).tobytes(), f
    assert a.mesh.vertices.tobytes() == meshes[category][0].mesh.vertices.tobytes()


def test_added_categories_part_counts_and_styles(meshes):
    def counts(cat, part):
        k = meta_part_names(cat).index(part)
        return [len(np.unique(lm.face_instance[lm.face_semantic == k])) for lm in meshes[cat]]

    assert set(counts("Scissors", "blade")) == {2} and set(counts("Scissors", "handle")) == {2}
    assert set(counts("Scissors", "screw")) == {1} and set(counts("Pliers", "leg")) == {2}
    assert min(counts("Keyboard", "key")) >= 60
    assert 0 in counts("Keyboard", "cord") and 1 in counts("Keyboard", "cord")  # optional cord
    assert len(set(counts("Camera", "lens"))) >= 2 and max(counts("Camera", "lens")) <= 3
    assert len(set(counts("Camera", "button"))) >= 3
    assert len(set(counts("Window", "window"))) >= 2
    assert len(set(counts("Cart", "wheel"))) >= 2  # 2 (hand truck), 3 or 4 wheels
    assert 0 in counts("Pen", "cap") and 0 in counts("Pen", "button")  # capped and click pens
    assert len(set(counts("Clock", "hand")) - {0}) == 2  # 2 or 3 hands
    assert min(counts("Globe", "sphere")) == 1 and min(counts("FoldingChair", "seat")) == 1


def test_unnamed_geometry_is_minus_one(meshes):
    """Cabinet carcasses and bottle bodies belong to no PartNet-E part (label -1)."""
    for cat in ("Bottle", "StorageFurniture", "Refrigerator", "Bucket", "KitchenPot", "Switch", "Knife", "Keyboard",
                "Camera", "Toilet", "Window", "Cart", "FoldingChair", "Globe"):
        assert all((lm.face_semantic == -1).any() for lm in meshes[cat]), cat


def test_several_instances_of_repeated_parts(meshes):
    def counts(cat, part):
        k = meta_part_names(cat).index(part)
        return [len(np.unique(lm.face_instance[lm.face_semantic == k])) for lm in meshes[cat]]

    assert min(counts("Chair", "leg")) >= 4
    assert max(counts("Chair", "wheel")) >= 4
    assert max(counts("StorageFurniture", "drawer")) >= 2
    assert max(counts("StorageFurniture", "handle")) >= 2
    assert min(counts("Eyeglasses", "leg")) == 2


@pytest.mark.parametrize("category", CATEGORIES)
def test_instances_are_connected_pieces(meshes, category):
    lm = max(meshes[category], key=lambda lm: lm.n_instances)  # the shape with most instances
    for i in range(lm.n_instances):
        faces = lm.mesh.faces[lm.face_instance == i]
        assert _n_pieces(lm.mesh.vertices, faces) == 1, f"{lm.name}: instance {i} is in pieces"


def test_connectivity_check_detects_separate_pieces(meshes):
    lm = meshes["Chair"][0]
    leg = meta_part_names("Chair").index("leg")
    legs = np.unique(lm.face_instance[lm.face_semantic == leg])[:2]
    faces = lm.mesh.faces[np.isin(lm.face_instance, legs)]
    assert _n_pieces(lm.mesh.vertices, faces) == 2


def test_colour_does_not_give_the_parts_away():
    """Over a few chairs, some pair of different parts shares a material colour."""
    shared = 0
    for seed in range(6):
        s = synthetic.generate("Chair", seed, n_points=4000)
        means = {}
        for k in np.unique(s.semantic[s.semantic >= 0]):
            means[k] = np.median(s.rgb[s.semantic == k], axis=0)
        keys = sorted(means)
        shared += any(np.abs(means[a] - means[b]).max() < 0.08 for a in keys for b in keys if a < b)
    assert shared >= 2


def test_mesh_is_textured():
    lm = synthetic.generate_mesh("Chair", 1)
    assert isinstance(lm.mesh.visual, trimesh.visual.TextureVisuals)
    assert lm.mesh.visual.uv.shape == (len(lm.mesh.vertices), 2)
    img = np.asarray(lm.mesh.visual.material.image)
    assert img.ndim == 3 and img.shape[0] >= 64


def test_unknown_part_name_is_an_error():
    asm = Assembly("Chair", np.random.default_rng(0))
    with pytest.raises(InputError, match="not a PartNet-E part"):
        asm.instance("cushion")
    asm.add(box((1, 1, 1)), Material())
    asm.build("Chair/x")  # unlabelled pieces alone are fine


def test_bad_arguments():
    with pytest.raises(InputError, match="unknown category"):
        synthetic.generate("chair", 0)
    with pytest.raises(InputError, match="non-negative"):
        synthetic.generate("Chair", -1)
    with pytest.raises(InputError, match="n_points"):
        synthetic.generate("Chair", 0, n_points=0)
    with pytest.raises(InputError, match="split"):
        synthetic.shape_seed(0, "Chair", 0, "")


# ---------------------------------------------------------------------------------------------
# seeds and determinism


def test_same_seed_identical_bytes_different_seed_differs():
    a = synthetic.generate("Table", 11, n_points=3000)
    b = synthetic.generate("Table", 11, n_points=3000)
    c = synthetic.generate("Table", 12, n_points=3000)
    for f in ("xyz", "rgb", "normals", "semantic", "instance", "face_index"):
        assert getattr(a, f).tobytes() == getattr(b, f).tobytes(), f
    assert a.mesh.vertices.tobytes() == b.mesh.vertices.tobytes()
    assert np.asarray(a.mesh.visual.material.image).tobytes() == np.asarray(b.mesh.visual.material.image).tobytes()
    assert a.xyz.tobytes() != c.xyz.tobytes()


def test_geometry_does_not_depend_on_point_count():
    a = synthetic.generate("Lamp", 3, n_points=1000)
    b = synthetic.generate("Lamp", 3, n_points=2000)
    assert a.mesh.vertices.tobytes() == b.mesh.vertices.tobytes()


def test_shape_seeds_are_disjoint_across_splits():
    seeds = {
        split: {synthetic.shape_seed(0, "Chair", i, split) for i in range(200)}
        for split in ("test", "shots", "collection")
    }
    assert all(len(s) == 200 for s in seeds.values())
    assert not (seeds["test"] & seeds["shots"]) and not (seeds["test"] & seeds["collection"])
    assert synthetic.shape_seed(0, "Chair", 3, "test") == synthetic.shape_seed(0, "Chair", 3, "test")
    assert synthetic.shape_seed(0, "Chair", 3) != synthetic.shape_seed(0, "Table", 3)
    assert synthetic.shape_seed(0, "Chair", 3) != synthetic.shape_seed(1, "Chair", 3)
    coll = synthetic.generate_collection("Bottle", 2, 7, n_points=500, split="shots")
    assert coll[1].name == f"Bottle/synth_{synthetic.shape_seed(7, 'Bottle', 1, 'shots')}"


# ---------------------------------------------------------------------------------------------
# export and read-back


def _tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_reads_back_as_partnete(tmp_path):
    shapes = [synthetic.generate(cat, 2, n_points=1500) for cat in ("Chair", "StorageFurniture", "Bottle")]
    folders = export_partnete(shapes, tmp_path / "a")
    assert [f.name for f in folders] == ["synth_2"] * 3
    ds = PartNetEDataset(tmp_path / "a")
    assert len(ds) == 3 and set(ds.categories) == {"Chair", "StorageFurniture", "Bottle"}
    for s in shapes:
        back = ds.load(s.name, with_mesh=True)
        assert back.part_names == s.part_names
        np.testing.assert_allclose(back.xyz, s.xyz, atol=1e-6)
        np.testing.assert_allclose(back.rgb, s.rgb, atol=1 / 255 + 1e-6)
        np.testing.assert_array_equal(back.semantic, s.semantic)
        np.testing.assert_array_equal(back.instance, s.instance)
        # face order survives trimesh.load(mesh.glb, force="mesh")
        glb = trimesh.load(tmp_path / "a" / s.name / "mesh.glb", force="mesh")
        assert len(glb.faces) == len(s.mesh.faces)
        np.testing.assert_allclose(glb.triangles_center, s.mesh.triangles_center, atol=1e-5)
        np.testing.assert_array_equal(back.face_semantic, s.face_semantic)
        raw = np.load(tmp_path / "a" / s.name / "label.npy", allow_pickle=True).item()
        assert raw["semantic_seg"].dtype == np.int32 and raw["instance_seg"].dtype == np.int32
        info = json.loads((tmp_path / "a" / s.name / "info.json").read_text())
        assert sum(info["points_per_part"].values()) + info["points_unlabeled"] == s.n_points
    header = (tmp_path / "a" / "Chair" / "synth_2" / "pc.ply").read_bytes()[:300]
    assert b"binary_little_endian" in header and b"property uchar red" in header
    # same shapes -> byte-identical folders
    export_partnete(shapes, tmp_path / "b")
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")


def test_export_rejects_foreign_part_names(tmp_path):
    s = synthetic.generate("Bottle", 0, n_points=100)
    with pytest.raises(InputError, match="part names"):
        export_partnete([s.replace(part_names=("cap",))], tmp_path)


# ---------------------------------------------------------------------------------------------
# preview and CLI


def test_preview_sheet():
    shapes = [synthetic.generate(c, 0, n_points=1500) for c in ("Chair", "Lamp", "Kettle")]
    sheet = preview_sheet(shapes, size=96)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3
    assert (sheet < 250).any()  # something is drawn


def test_cli_list(capsys):
    assert main(["synth", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 45
    assert "Switch: switch" in out and "Scissors: blade, handle, screw" in out
    assert "Chair: arm, back, leg, seat, wheel" in out


def test_cli_generates_and_previews(tmp_path, capsys):
    png = tmp_path / "chairs.png"
    rc = main(["synth", "--category", "Chair", "--count", "2", "--points", "1000", "--seed", "0",
               "--out", str(tmp_path / "s"), "--preview", str(png)])
    assert rc == 0
    ds = PartNetEDataset(tmp_path / "s")
    assert len(ds) == 2 and ds.categories == ("Chair",)
    for sid in ds.shape_ids():
        assert (tmp_path / "s" / sid / "mesh.glb").is_file()
    assert (tmp_path / "s" / "PartNetE_meta.json").is_file()
    img = Image.open(io.BytesIO(png.read_bytes()))
    assert img.size[0] > 100


def test_cli_unknown_category(capsys):
    assert main(["synth", "--category", "Sofa", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "unknown category" in err and "Chair" in err and len(err.strip().splitlines()) == 1


def test_speed_synth_rig_cycles_categories_and_reports(monkeypatch):
    import partlift.bench.speed.synth as rig
    from partlift.bench.speed import get_stage

    assert get_stage("synth") is rig.speed_synth
    calls = []
    real = rig.generate

    def spy(category, seed, n_points):
        calls.append((category, seed, n_points))
        return real(category, seed, n_points=n_points)

    monkeypatch.setattr(rig, "generate", spy)
    n = len(CATEGORIES) + 2  # wraps around: the first two categories come again with index 1
    out = rig.speed_synth(300, "cpu", shapes=n)
    expected = [(CATEGORIES[i % len(CATEGORIES)], synthetic.shape_seed(0, CATEGORIES[i % len(CATEGORIES)],
                 i // len(CATEGORIES), "speed"), 300) for i in range(n)]
    assert calls == expected and calls[-1][1] != calls[1][1]
    assert {k: out[k] for k in ("stage", "shapes", "points", "categories")} == {
        "stage": "synth", "shapes": n, "points": 300, "categories": len(CATEGORIES)}
    assert out["seconds"] > 0 and out["ms_per_shape"] == pytest.approx(1000 * out["seconds"] / n, abs=0.1)
    with pytest.raises(InputError, match="shapes must be >= 1"):
        rig.speed_synth(300, "cpu", shapes=0)


# ---------------------------------------------------------------------------------------------
# realism versions


def test_realism_v2_same_parts_more_real_v1_unchanged():
    seed = synthetic.shape_seed(0, "StorageFurniture", 1, "test")
    v1 = synthetic.generate_mesh("StorageFurniture", seed)
    assert v1.mesh.vertices.tobytes() == synthetic.generate_mesh("StorageFurniture", seed, realism="v1").mesh.vertices.tobytes()
    v2 = synthetic.generate_mesh("StorageFurniture", seed, realism="v2")
    again = synthetic.generate_mesh("StorageFurniture", seed, realism="v2")
    assert v2.mesh.vertices.tobytes() == again.mesh.vertices.tobytes()
    assert np.asarray(v2.mesh.visual.material.image).tobytes() == np.asarray(again.mesh.visual.material.image).tobytes()
    # same instances with the same labels; bevels and inner walls add unlabelled faces
    assert v2.n_instances == v1.n_instances
    for i in range(v1.n_instances):
        assert set(v1.face_semantic[v1.face_instance == i]) == set(v2.face_semantic[v2.face_instance == i])
    assert (v2.face_semantic == -1).sum() > (v1.face_semantic == -1).sum()
    np.testing.assert_allclose(v2.mesh.bounds, v1.mesh.bounds, atol=1e-9)  # bevels stay inside the boxes
    s = synthetic.generate("Bottle", 3, n_points=500, realism="v2")
    assert s.semantic.max() < len(s.part_names)
    with pytest.raises(InputError, match="realism"):
        synthetic.generate("Bottle", 3, realism="v3")
