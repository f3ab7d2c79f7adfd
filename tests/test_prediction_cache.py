"""Prediction cache: round trip, key sensitivity, corrupted entries recomputed (never trusted)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from partlift.errors import InputError
from partlift.teachers.cache import (
    PredictionCache,
    default_cache_root,
    key_of,
    prediction_key,
    shape_content_hash,
)
from partlift.types import Predictions, Shape


def make_preds(seed: int = 0, masks: bool = True) -> Predictions:
    rng = np.random.default_rng(seed)
    d, h, w = 5, 6, 11
    return Predictions(
        view=rng.integers(0, 3, d),
        label=rng.integers(0, 2, d),
        score=rng.uniform(0.5, 1, d).astype(np.float32),
        boxes=rng.uniform(0, 10, (d, 4)).astype(np.float32),
        features=rng.standard_normal((d, 7)).astype(np.float32),
        part_names=("door", "handle"),
        image_size=(h, w),
        masks=rng.random((d, h, w)) < 0.5 if masks else None,
        teacher="simulated:zeroshot",
        meta={"profile": {"name": "zeroshot", "seed": 0}},
    )


def assert_same(a: Predictions, b: Predictions) -> None:
    for f in ("view", "label", "score", "boxes", "features"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        assert getattr(a, f).dtype == getattr(b, f).dtype
    assert a.part_names == b.part_names and a.image_size == b.image_size
    assert a.teacher == b.teacher and a.meta == b.meta
    if a.masks is None:
        assert b.masks is None
    else:
        np.testing.assert_array_equal(a.masks, b.masks)


@pytest.mark.parametrize("masks", [True, False])
def test_round_trip(tmp_path, masks):
    cache = PredictionCache(tmp_path)
    preds = make_preds(masks=masks)
    calls = []

    def fn():
        calls.append(1)
        return preds

    key = key_of({"shape": "abc", "teacher": "t"})
    first = cache.get_or_compute(key, fn)
    second = cache.get_or_compute(key, fn)
    assert len(calls) == 1
    assert_same(first, preds)
    assert_same(second, preds)
    # A mapping of key parts works as well and hashes to the same key.
    assert_same(cache.get_or_compute({"teacher": "t", "shape": "abc"}, fn), preds)
    assert len(calls) == 1
    assert not list(cache.dir.rglob("*.tmp"))


def test_empty_predictions_round_trip(tmp_path):
    cache = PredictionCache(tmp_path)
    empty = Predictions.empty(("a", "b"), (4, 5), 3, "x", with_masks=True)
    cache.save("ab" * 32, empty)
    assert_same(cache.load("ab" * 32), empty)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "tampered"])
def test_corrupted_entry_is_recomputed(tmp_path, caplog, damage):
    cache = PredictionCache(tmp_path)
    key = "cd" * 32
    path = cache.save(key, make_preds(0))
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        b = bytearray(raw)
        b[len(b) // 3] ^= 0xFF
        path.write_bytes(bytes(b))
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        # A well-formed archive whose arrays no longer match the stored checksum.
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["boxes"] = arrays["boxes"] + 1
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    fresh = make_preds(1)
    with caplog.at_level(logging.WARNING, logger="partlift.teachers.cache"):
        got = cache.get_or_compute(key, lambda: fresh)
    assert_same(got, fresh)
    assert "corrupt" in caplog.text
    if damage == "tampered":
        assert "checksum" in caplog.text
    # The entry was overwritten with the recomputed predictions.
    assert_same(cache.load(key), fresh)


def test_entry_with_other_key_not_trusted(tmp_path):
    cache = PredictionCache(tmp_path)
    k1, k2 = "11" * 32, "12" * 32
    p1 = cache.save(k1, make_preds(0))
    cache.path(k2).parent.mkdir(parents=True, exist_ok=True)
    cache.path(k2).write_bytes(p1.read_bytes())
    assert cache.load(k2) is None


def test_keys_depend_on_every_input():
    rng = np.random.default_rng(0)
    xyz = rng.standard_normal((50, 3)).astype(np.float32)
    rgb = rng.random((50, 3)).astype(np.float32)
    s1 = Shape(xyz=xyz, rgb=rgb)
    s2 = Shape(xyz=xyz, rgb=np.clip(rgb + 0.01, 0, 1).astype(np.float32))
    render = {"image_size": 128, "views": [[10.0, 0.0]]}
    base = prediction_key(s1, render, "simulated:zeroshot", ("a", "b"))
    assert base == prediction_key(shape_content_hash(s1), render, "simulated:zeroshot", ["a", "b"])
    others = [
        prediction_key(s2, render, "simulated:zeroshot", ("a", "b")),
        prediction_key(s1, {**render, "image_size": 64}, "simulated:zeroshot", ("a", "b")),
        prediction_key(s1, render, "simulated:oracle", ("a", "b")),
        prediction_key(s1, render, "simulated:zeroshot", ("b", "a")),
    ]
    assert len({base, *others}) == 5
    # Labels enter the key only when asked (teachers that read ground truth).
    s3 = Shape(xyz=xyz, rgb=rgb, semantic=np.zeros(50, np.int64), part_names=("a",))
    assert prediction_key(s3, render, "t", ("a",)) == prediction_key(s1, render, "t", ("a",))
    assert prediction_key(s3, render, "t", ("a",), with_labels=True) != prediction_key(
        s1, render, "t", ("a",), with_labels=True
    )


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.delenv("PARTLIFT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_root() == tmp_path / "partlift"
    monkeypatch.setenv("PARTLIFT_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_root() == tmp_path / "c"
    assert PredictionCache().root == tmp_path / "c"


def test_bad_key(tmp_path):
    with pytest.raises(InputError):
        PredictionCache(tmp_path).path("../etc")
