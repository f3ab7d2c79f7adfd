"""The teacher-mistake diagnostics (partlift.teachers.learned.diagnose) on tiny hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from partlift.errors import InputError
from partlift.teachers.learned.diagnose import (
    BACKGROUND,
    UNSEEN,
    confusion_matrix,
    cross_view_agreement,
    instance_records,
    label_maps,
    leak_rate,
    miss_rate,
    pixel_iou,
    point_labels,
    recall_by_size,
    top_confusions,
)
from partlift.types import Predictions


def _preds(masks, labels, scores, view, boxes=None):
    masks = np.asarray(masks, bool)
    d = len(labels)
    return Predictions(
        view=np.asarray(view, np.int64), label=np.asarray(labels, np.int64),
        score=np.asarray(scores, np.float32),
        boxes=np.asarray(boxes if boxes is not None else [[0, 0, 1, 1]] * d, np.float32),
        features=np.zeros((d, 1), np.float32), part_names=("a", "b"), image_size=masks.shape[1:],
        masks=masks,
    )


def test_label_maps_highest_score_wins_and_boxes():
    m0 = np.zeros((3, 4), bool)
    m0[:, :2] = True
    m1 = np.zeros((3, 4), bool)
    m1[:, 1:3] = True
    preds = _preds([m0, m1], [0, 1], [0.9, 0.5], [0, 0])
    maps = label_maps(preds, 2)
    assert maps.shape == (2, 3, 4)
    assert maps[0, 0].tolist() == [0, 0, 1, -1]  # column 1: both, the 0.9 one wins
    assert (maps[1] == -1).all()
    boxed = Predictions(view=np.array([1]), label=np.array([1]), score=np.array([0.5], np.float32),
                        boxes=np.array([[0.5, -0.5, 2.5, 0.5]], np.float32), features=np.zeros((1, 1), np.float32),
                        part_names=("a", "b"), image_size=(3, 4), masks=None)
    maps = label_maps(boxed, 2)
    assert maps[1].tolist() == [[-1, 1, 1, -1], [-1, -1, -1, -1], [-1, -1, -1, -1]]
    with pytest.raises(InputError, match="only 1 views"):
        label_maps(boxed, 1)


def test_point_labels_majority_and_unseen():
    # view 0: point 0 owns 3 pixels (labels 1, 1, none), point 1 one pixel (label 0); point 2 unseen
    p2p = np.array([[[0, 0, 0, 1]], [[2, 2, -1, -1]]])
    maps = np.array([[[1, 1, -1, 0]], [[-1, 0, 1, 1]]])
    lab = point_labels(maps, p2p, 3)
    assert lab.tolist() == [[1, 0, UNSEEN], [UNSEEN, UNSEEN, -1]]  # tie (none, 0): none
    with pytest.raises(InputError):
        point_labels(maps[:, :, :2], p2p, 3)


def test_cross_view_agreement_counts_pairs():
    labels = np.array([
        [0, 1, -1, UNSEEN],
        [0, 0, -1, 1],
        [0, UNSEEN, 1, UNSEEN],
    ])
    r = cross_view_agreement(labels)
    # point 0: 3 views all 0 -> 3/3 pairs; point 1: (1, 0) -> 0/1; point 2: (-1, -1, 1) -> 1/3;
    # point 3: seen once -> left out
    assert (r["points"], r["pairs"], r["agreeing"]) == (3, 7, 4)
    assert r["agreement"] == pytest.approx(4 / 7)
    sub = cross_view_agreement(labels, subset=np.array([True, False, False, True]))
    assert sub["agreement"] == 1.0 and sub["points"] == 1
    assert cross_view_agreement(labels[:1])["agreement"] is None


def test_instance_records_and_size_bins():
    B = BACKGROUND
    sem = np.array([[0, 0, 0, 1], [0, -1, -1, 1], [B, B, -1, -1]])
    ins = np.array([[5, 5, 5, 7], [5, -1, -1, 8], [-1, -1, -1, -1]])
    pred = np.array([[0, 0, -1, 1], [1, -1, 0, -1], [0, 0, -1, -1]])
    recs = sorted(instance_records(pred, sem, ins), key=lambda r: (r["part"], r["pixels"]))
    # 10 object pixels; part 0 instance 5: 4 px, 2 right; part 1 instances 7 and 8: 1 px each
    assert [(r["part"], r["pixels"]) for r in recs] == [(0, 4), (1, 1), (1, 1)]
    assert recs[0]["fraction"] == pytest.approx(0.4) and recs[0]["recall"] == pytest.approx(0.5)
    assert sorted(r["recall"] for r in recs[1:]) == [0.0, 1.0]
    bins = recall_by_size(recs, bins=(0.0, 0.2, 1.0))
    assert [b["instances"] for b in bins] == [2, 1]
    assert bins[0]["hit_rate"] == 0.5 and bins[0]["recall"] == 0.5 and bins[1]["hit_rate"] == 1.0
    assert recall_by_size([], bins=(0.0, 1.0))[0]["hit_rate"] is None
    with pytest.raises(InputError, match="increasing"):
        recall_by_size(recs, bins=(0.5, 0.1))


def test_confusions_leaks_and_misses():
    B = BACKGROUND
    gt = np.array([0, 0, 0, 0, 1, 1, -1, -1, -1, B])
    pred = np.array([0, 0, 1, -1, 1, 0, 1, -1, -1, 0])  # the background pixel is left out
    m = confusion_matrix(pred, gt, 2)
    assert m.tolist() == [[2, 0, 1], [1, 2, 1], [0, 1, 1]]
    conf = top_confusions(m, ("lid", "handle"))
    assert [(c["gt"], c["pred"]) for c in conf] == [("handle", "lid"), ("lid", "handle")]
    assert conf[0]["rate"] == 0.5 and conf[1]["rate"] == 0.25 and conf[1]["pixels"] == 1
    assert top_confusions(m, ("lid", "handle"), min_rate=0.3)[0]["gt"] == "handle"
    assert leak_rate(m) == pytest.approx(1 / 6)  # 6 pixels predicted as a part, 1 on unlabelled
    assert miss_rate(m) == pytest.approx(1 / 6)  # 6 part pixels, 1 predicted as none
    assert pixel_iou(m) == [pytest.approx(2 / 5), pytest.approx(1 / 4)]
    assert leak_rate(np.zeros((3, 3))) is None
    with pytest.raises(InputError, match="labels must lie"):
        confusion_matrix(np.array([2]), np.array([0]), 2)


def test_mistakes_script_on_a_generated_shape(tmp_path):
    """benchmarks/learned_teacher_mistakes.py's steps on one generated KitchenPot with a tiny
    random-weights learned checkpoint and the simulated oracle (tiny preset)."""
    import json

    import learned_tiny
    from benchmark_scripts import load
    from partlift.data.synthetic import generate
    from partlift.teachers.registry import build_teacher

    bench = load("learned_teacher_mistakes")
    ckpt = learned_tiny.write_tiny_teacher(tmp_path / "t.safetensors", ("KitchenPot",))
    teachers = {f"learned:{ckpt}": build_teacher(f"learned:{ckpt}"), "simulated:oracle": build_teacher("simulated:oracle")}
    shape = generate("KitchenPot", 4, n_points=3000)
    stats = {s: bench._new_stats() for s in teachers}
    picture = {}
    assert bench.analyse_shape(shape, teachers, "tiny", stats, picture, True) == 10
    summary = bench.summarise(stats)
    oracle = summary["simulated:oracle"]
    assert oracle["pixel_miou"] > 0.5 and oracle["agreement"]["all"] > 0.5
    assert oracle["leak_pixels"] < 0.5 and oracle["instances"] > 0
    assert sum(b["instances"] for b in oracle["recall_by_size"]) == oracle["instances"]
    json.dumps(summary)
    md = bench.markdown(summary, {s: t.name for s, t in teachers.items()},
                        {"shapes": [shape.name], "preset": "tiny", "views": 10})
    assert md.count("\n| `simulated:oracle` |") == 3 and shape.name in md  # one row per table
    bench.draw(picture, list(teachers), tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000
