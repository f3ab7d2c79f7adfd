"""PartNet-E readers: the part-name table (partlift.data.meta) and the dataset (partlift.data.partnete)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from partlift.data.meta import (
    OVERLAPPING_17,
    categories,
    category_group,
    part_names,
    partnete_meta,
    resolve_part_names,
)
from partlift.data.partnete import PartNetEDataset, shape_id_key
from partlift.errors import InputError, ShapeFileError

REAL_IDS = [
    "Bottle/3763",
    "Bucket/448",
    "KitchenPot/15",
    "StorageFurniture/40147",
    "StorageFurniture/45940",
    "Switch/2812",
]


# ---------------------------------------------------------------- meta


def test_meta_table() -> None:
    meta = partnete_meta()
    assert len(meta) == 45
    assert sum(len(v) for v in meta.values()) == 103  # METHODS §1.5.1
    assert list(meta)[:3] == ["Bottle", "Box", "Bucket"]  # JSON key order kept
    assert categories() == tuple(sorted(meta))
    assert part_names("StorageFurniture") == ("door", "drawer", "handle")
    assert part_names("Door") == ("frame", "door", "handle")  # order = label ids, not sorted
    meta["Bottle"] = ("changed",)  # a fresh dict each call: the table cannot be altered
    assert part_names("Bottle") == ("lid",)


def test_overlapping_groups() -> None:
    assert len(OVERLAPPING_17) == 17 and set(OVERLAPPING_17) <= set(categories())
    assert sum(category_group(c) == "28" for c in categories()) == 28
    assert category_group("Chair") == "17" and category_group("Kettle") == "28"
    with pytest.raises(InputError, match="unknown PartNet-E category"):
        category_group("Sofa")


def test_unknown_category_suggests() -> None:
    with pytest.raises(InputError, match=r"did you mean 'Chair'.*valid names.*Bottle"):
        part_names("chair")
    with pytest.raises(InputError, match="StorageFurniture"):
        part_names("Storage Furniture")
    with pytest.raises(InputError, match="category name"):
        part_names(3)  # type: ignore[arg-type]


def test_resolve_part_names() -> None:
    assert resolve_part_names("Chair") == ("arm", "back", "leg", "seat", "wheel")
    assert resolve_part_names(parts=[" lid ", "body"]) == ("lid", "body")
    assert resolve_part_names("Chair", parts=["seat"]) == ("seat",)
    with pytest.raises(InputError, match="no part names"):
        resolve_part_names()
    with pytest.raises(InputError, match="at least one"):
        resolve_part_names(parts=[])
    with pytest.raises(InputError, match="unique"):
        resolve_part_names(parts=["leg", "arm", "leg"])
    with pytest.raises(InputError, match="non-blank"):
        resolve_part_names(parts=["leg", "  "])
    with pytest.raises(InputError, match="non-blank"):
        resolve_part_names(parts=["leg", 3])  # type: ignore[list-item]
    with pytest.raises(InputError, match="single string"):
        resolve_part_names(parts="arm leg")


def test_shape_id_key() -> None:
    ids = ["Chair/100", "Bottle/20", "Chair/9", "Chair/abc"]
    assert sorted(ids, key=shape_id_key) == ["Bottle/20", "Chair/9", "Chair/100", "Chair/abc"]


# ---------------------------------------------------------------- real dev shapes


def test_real_dev_dataset(real_dev_root: Path) -> None:
    ds = PartNetEDataset(real_dev_root)
    assert ds.layout == "flat"
    assert list(ds.shape_ids()) == REAL_IDS
    assert len(ds) == 6
    assert ds.categories == ("Bottle", "Bucket", "KitchenPot", "StorageFurniture", "Switch")
    for sid in REAL_IDS:
        shape = ds.load(sid)
        cat = sid.split("/")[0]
        assert shape.name == sid and shape.category == cat
        assert shape.part_names == part_names(cat) == ds.part_names(cat)
        assert shape.n_points == 50000
        assert shape.semantic.dtype == np.int64 and shape.instance.dtype == np.int64
        assert shape.semantic.min() >= -1 and shape.semantic.max() < len(shape.part_names)
        assert shape.rgb is not None
        # every part name of these categories has points in this set (README)
    kp = ds.load("KitchenPot/15")
    assert set(np.unique(kp.semantic)) == {-1, 0, 1}
    assert len(np.unique(kp.instance[kp.instance >= 0])) == 3


def test_real_dev_filters(real_dev_root: Path) -> None:
    ds = PartNetEDataset(real_dev_root, categories=["StorageFurniture", "Bottle"])
    assert ds.shape_ids() == ("Bottle/3763", "StorageFurniture/40147", "StorageFurniture/45940")
    assert ds.shape_ids("StorageFurniture") == tuple(REAL_IDS[3:5])
    assert list(PartNetEDataset(real_dev_root, split="dev").shape_ids()) == REAL_IDS
    with pytest.raises(InputError, match="did you mean 'StorageFurniture'"):
        PartNetEDataset(real_dev_root, categories=["Storagefurniture"])
    with pytest.raises(InputError, match="no PartNet-E shapes of categories"):
        PartNetEDataset(real_dev_root, categories=["Chair"])
    with pytest.raises(InputError, match="split 'test' requested"):
        PartNetEDataset(real_dev_root, split="test")
    with pytest.raises(InputError, match="unknown shape id 'Bottle/1'.*Bottle/3763"):
        ds.load("Bottle/1")


# ---------------------------------------------------------------- synthetic official layout


def _write_shape(d: Path, sem: np.ndarray, ins: np.ndarray | None = None, label=None) -> None:
    d.mkdir(parents=True)
    n = sem.shape[0]
    rng = np.random.default_rng(n)
    v = np.empty(n, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"),
                           ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    xyz = rng.normal(size=(n, 3)).astype(np.float32)
    v["x"], v["y"], v["z"] = xyz.T
    v["red"], v["green"], v["blue"] = rng.integers(0, 256, (3, n), dtype=np.uint8)
    PlyData([PlyElement.describe(v, "vertex")], text=False).write(str(d / "pc.ply"))
    if label is None:
        label = {"semantic_seg": sem.astype(np.int32),
                 "instance_seg": (sem if ins is None else ins).astype(np.int32)}
    np.save(d / "label.npy", label, allow_pickle=True)


@pytest.fixture()
def official(tmp_path: Path) -> Path:
    root = tmp_path / "PartNetE"
    test = root / "data" / "test"
    _write_shape(test / "Chair" / "179", np.array([0, 1, 2, 3, 4, -1]))
    _write_shape(test / "Chair" / "23", np.array([3, 3, 2, -1]))
    _write_shape(test / "Bottle" / "3380", np.array([0, -1, -1]))
    _write_shape(test / "Bottle" / "99", np.array([0, 0]))  # not in split/test.txt
    _write_shape(root / "data" / "few_shot" / "Chair" / "7", np.array([1, 1, 1]))
    (root / "split").mkdir()
    (root / "split" / "test.txt").write_text("Chair/179\nChair/23\nBottle/3380\n")
    (root / "split" / "few-shot.txt").write_text("Chair/7\n")
    return root


def test_official_layout(official: Path) -> None:
    ds = PartNetEDataset(official)  # split None -> "test", restricted by split/test.txt
    assert ds.layout == "official" and ds.split == "test"
    assert ds.shape_ids() == ("Bottle/3380", "Chair/23", "Chair/179")
    chair = ds.load("Chair/179")
    assert chair.part_names == ("arm", "back", "leg", "seat", "wheel")
    np.testing.assert_array_equal(chair.semantic, [0, 1, 2, 3, 4, -1])
    assert chair.semantic.dtype == np.int64 and chair.name == "Chair/179"
    assert [s.name for s in ds] == list(ds.shape_ids())
    few = PartNetEDataset(official, split="few_shot")
    assert few.split == "few_shot" and few.shape_ids() == ("Chair/7",)
    assert PartNetEDataset(official, split="few-shot").shape_ids() == ("Chair/7",)
    assert PartNetEDataset(official, categories=["Chair"]).shape_ids() == ("Chair/23", "Chair/179")
    with pytest.raises(InputError, match=r"split 'val' not found.*\['few_shot', 'test'\]"):
        PartNetEDataset(official, split="val")


def test_official_without_split_file_and_flat_subfolder(official: Path) -> None:
    (official / "split" / "test.txt").unlink()
    ds = PartNetEDataset(official, split="test")
    assert ds.shape_ids() == ("Bottle/99", "Bottle/3380", "Chair/23", "Chair/179")
    # pointing at data/test directly reads it as a flat root
    assert PartNetEDataset(official / "data" / "test").shape_ids() == ds.shape_ids()


def test_split_listing_missing_shapes(official: Path) -> None:
    (official / "split" / "test.txt").write_text("Chair/179\nChair/555\n")
    with pytest.raises(ShapeFileError, match="Chair/555"):
        PartNetEDataset(official)
    # the missing shape is a Chair: reading only Bottle works (and split/test.txt lists no
    # Bottle here, so there is nothing to read)
    with pytest.raises(InputError, match="no PartNet-E shapes of categories"):
        PartNetEDataset(official, categories=["Bottle"])


def test_root_meta_overrides_packaged(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    _write_shape(root / "Bottle" / "1", np.array([0, 1, -1]))
    (root / "PartNetE_meta.json").write_text(json.dumps({"Bottle": ["lid", "body"]}))
    shape = PartNetEDataset(root).load("Bottle/1")
    assert shape.part_names == ("lid", "body")


def test_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        PartNetEDataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no PartNet-E shapes.*<Category>/<id>/pc.ply"):
        PartNetEDataset(tmp_path / "empty")


@pytest.mark.parametrize(
    ("label", "match"),
    [
        ({"instance_seg": np.zeros(3, np.int32)}, "semantic_seg"),
        ({"semantic_seg": np.zeros(5, np.int32), "instance_seg": np.zeros(5, np.int32)}, "length|5"),
        ({"semantic_seg": np.array([0, 7, 0]), "instance_seg": np.zeros(3)}, "out of range|7"),
        ("not a dict", "label"),
    ],
)
def test_malformed_labels_name_the_shape(tmp_path: Path, label: object, match: str) -> None:
    root = tmp_path / "flat"
    _write_shape(root / "Bottle" / "5", np.zeros(3, np.int64), label=label)
    ds = PartNetEDataset(root)
    with pytest.raises(ShapeFileError, match="Bottle/5") as info:
        ds.load("Bottle/5")
    assert re.search(match, str(info.value))


def test_missing_label_file(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    _write_shape(root / "Bottle" / "5", np.zeros(3, np.int64))
    (root / "Bottle" / "5" / "label.npy").unlink()
    with pytest.raises(ShapeFileError, match="shape Bottle/5: no label.npy"):
        PartNetEDataset(root).load("Bottle/5")
