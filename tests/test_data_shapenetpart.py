"""ShapeNetPart readers on tiny fake files (partlift.data.shapenetpart)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from partlift.data.shapenetpart import (
    N_GLOBAL_PARTS,
    SHAPENETPART_CATEGORIES,
    ShapeNetPartDataset,
    category_of_synset,
    global_to_local,
    load_shapenetpart_h5,
    load_shapenetpart_txt,
    shapenetpart_categories,
    shapenetpart_category,
)
from partlift.errors import InputError, ShapeFileError

CHAIR, TABLE, MUG = "03001627", "04379243", "03797390"


def _write_txt(path: Path, pid: list[int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(pid)
    xyz = rng.normal(size=(n, 3))
    nrm = rng.normal(size=(n, 3))
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    arr = np.column_stack([xyz, nrm, np.asarray(pid, float)])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, arr, fmt=["%.6f"] * 6 + ["%d"])
    return arr


@pytest.fixture()
def release(tmp_path: Path) -> Path:
    root = tmp_path / "shapenetcore_partanno_segmentation_benchmark_v0_normal"
    _write_txt(root / CHAIR / "c2.txt", [12, 13, 14, 15, 12])  # chair: back seat leg arm
    _write_txt(root / CHAIR / "c1.txt", [12, 12, 14])
    _write_txt(root / TABLE / "t1.txt", [47, 48, 49, 48])
    _write_txt(root / MUG / "m1.txt", [36, 37])
    split = root / "train_test_split"
    split.mkdir()
    (split / "shuffled_test_file_list.json").write_text(
        json.dumps([f"shape_data/{CHAIR}/c2", f"shape_data/{TABLE}/t1"])
    )
    (split / "shuffled_train_file_list.json").write_text(
        json.dumps([f"shape_data/{CHAIR}/c1", f"shape_data/{MUG}/m1"])
    )
    return root


def test_table_is_consistent() -> None:
    assert len(SHAPENETPART_CATEGORIES) == 16
    ids = [g for c in SHAPENETPART_CATEGORIES for g in c.global_ids]
    assert ids == list(range(N_GLOBAL_PARTS))  # offsets are contiguous, 50 parts
    assert [c.index for c in SHAPENETPART_CATEGORIES] == list(range(16))
    assert shapenetpart_categories() == tuple(sorted(c.name for c in SHAPENETPART_CATEGORIES))
    chair = shapenetpart_category("Chair")
    assert (chair.synset, chair.offset, chair.parts) == (CHAIR, 12, ("back", "seat", "leg", "arm"))
    assert category_of_synset(TABLE).name == "Table"
    assert len(shapenetpart_category("Lamp").parts) == 4


def test_unknown_category_and_synset() -> None:
    with pytest.raises(InputError, match="did you mean 'Chair'"):
        shapenetpart_category("chair")
    with pytest.raises(InputError, match="not a ShapeNetPart synset"):
        category_of_synset("12345678")


def test_global_to_local() -> None:
    np.testing.assert_array_equal(global_to_local(np.array([47, 49, 48]), "Table"), [0, 2, 1])
    with pytest.raises(ShapeFileError, match="outside Table's global ids 47-49"):
        global_to_local(np.array([12, 47]), "Table")


def test_load_txt(release: Path) -> None:
    arr = np.loadtxt(release / CHAIR / "c2.txt")
    shape = load_shapenetpart_txt(release / CHAIR / "c2.txt")
    assert shape.category == "Chair" and shape.name == "Chair/c2"
    assert shape.part_names == ("back", "seat", "leg", "arm")
    np.testing.assert_array_equal(shape.semantic, [0, 1, 2, 3, 0])
    assert shape.semantic.dtype == np.int64
    assert shape.xyz.dtype == np.float32 and shape.normals.dtype == np.float32
    np.testing.assert_allclose(shape.xyz, arr[:, :3], atol=1e-6)
    assert shape.rgb is None and shape.instance is None


def test_load_txt_category_from_ids(tmp_path: Path) -> None:
    _write_txt(tmp_path / "loose.txt", [47, 48])
    assert load_shapenetpart_txt(tmp_path / "loose.txt").category == "Table"
    _write_txt(tmp_path / "mixed.txt", [12, 47])
    with pytest.raises(ShapeFileError, match="not within one category"):
        load_shapenetpart_txt(tmp_path / "mixed.txt")


def test_load_txt_errors(tmp_path: Path) -> None:
    with pytest.raises(ShapeFileError, match="does not exist"):
        load_shapenetpart_txt(tmp_path / "nope.txt")
    (tmp_path / "six.txt").write_text("0 0 0 0 0 1\n1 1 1 0 0 1\n")
    with pytest.raises(ShapeFileError, match="7 columns"):
        load_shapenetpart_txt(tmp_path / "six.txt")
    (tmp_path / "frac.txt").write_text("0 0 0 0 0 1 12.5\n")
    with pytest.raises(ShapeFileError, match="integers"):
        load_shapenetpart_txt(tmp_path / "frac.txt", category="Chair")
    (tmp_path / "text.txt").write_text("a b c\n")
    with pytest.raises(ShapeFileError, match="cannot read"):
        load_shapenetpart_txt(tmp_path / "text.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ShapeFileError):
        load_shapenetpart_txt(tmp_path / "empty.txt")


def test_dataset_all_and_filters(release: Path) -> None:
    ds = ShapeNetPartDataset(release)
    assert ds.shape_ids() == ("Chair/c1", "Chair/c2", "Mug/m1", "Table/t1")
    assert len(ds) == 4
    shapes = list(ds)
    assert [s.name for s in shapes] == list(ds.shape_ids())
    assert shapes[3].part_names == ("desktop", "leg", "drawer")
    np.testing.assert_array_equal(shapes[3].semantic, [0, 1, 2, 1])
    assert ShapeNetPartDataset(release, categories=["Table", "Mug"]).shape_ids() == (
        "Mug/m1",
        "Table/t1",
    )
    assert ShapeNetPartDataset(release, split="test").shape_ids() == ("Chair/c2", "Table/t1")
    assert ShapeNetPartDataset(release, split="train", categories=["Chair"]).shape_ids() == (
        "Chair/c1",
    )
    assert ds.part_names("Mug") == ("handle", "cup")


def test_dataset_errors(release: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        ShapeNetPartDataset(tmp_path / "missing")
    with pytest.raises(InputError, match="did you mean 'Chair'"):
        ShapeNetPartDataset(release, categories=["Chiar"])
    with pytest.raises(InputError, match="split must be one of"):
        ShapeNetPartDataset(release, split="dev")
    with pytest.raises(InputError, match="shuffled_val_file_list.json"):
        ShapeNetPartDataset(release, split="val")
    with pytest.raises(InputError, match="no ShapeNetPart shapes"):
        ShapeNetPartDataset(release, categories=["Airplane"])
    with pytest.raises(InputError, match="unknown shape id"):
        ShapeNetPartDataset(release).load("Chair/zzz")
    (release / "shuffled_val_file_list.json").write_text(json.dumps([f"shape_data/{CHAIR}/gone"]))
    with pytest.raises(ShapeFileError, match="missing"):
        ShapeNetPartDataset(release, split="val")


def test_load_h5(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.normal(size=(3, 8, 3)).astype(np.float32)
    label = np.array([[4], [15], [4]], dtype=np.uint8)  # Chair, Table, Chair
    pid = np.concatenate(
        [np.full((1, 8), 13), np.full((1, 8), 49), np.array([[12, 13, 14, 15] * 2])]
    ).astype(np.uint8)
    path = tmp_path / "ply_data_test0.h5"
    with h5py.File(path, "w") as f:
        f["data"], f["label"], f["pid"] = data, label, pid
    shapes = load_shapenetpart_h5(path)
    assert [s.name for s in shapes] == [
        "Chair/ply_data_test0_0",
        "Table/ply_data_test0_1",
        "Chair/ply_data_test0_2",
    ]
    np.testing.assert_array_equal(shapes[0].semantic, np.ones(8))
    np.testing.assert_array_equal(shapes[1].semantic, np.full(8, 2))
    np.testing.assert_array_equal(shapes[2].semantic, [0, 1, 2, 3] * 2)
    np.testing.assert_array_equal(shapes[2].xyz, data[2])
    assert shapes[1].part_names == ("desktop", "leg", "drawer") and shapes[1].instance is None
    only = load_shapenetpart_h5(path, categories=["Table"])
    assert [s.category for s in only] == ["Table"]


def test_load_h5_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f["data"] = np.zeros((1, 4, 3), np.float32)
    with pytest.raises(ShapeFileError, match="missing dataset"):
        load_shapenetpart_h5(bad)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as f:
        f["data"] = np.zeros((1, 4, 3), np.float32)
        f["label"] = np.array([[4]], np.uint8)
        f["pid"] = np.array([[47, 47, 47, 47]], np.uint8)  # table ids on a chair
    with pytest.raises(ShapeFileError, match="row 0"):
        load_shapenetpart_h5(wrong)
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(ShapeFileError, match="HDF5"):
        load_shapenetpart_h5(tmp_path / "junk.h5")
