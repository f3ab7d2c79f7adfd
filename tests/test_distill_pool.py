"""Superpoint pooling of the student's output and of the backward round's judge (issue 16)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from partlift.distill.align import _rescored, align, load_student, save_student
from partlift.distill.config import DistillConfig, distill_preset
from partlift.distill.knowledge import ShapeKnowledge
from partlift.distill.student import build_student, pool_logits, predict_shape
from partlift.errors import InputError

TINY = distill_preset("tiny")


def test_pool_logits_is_the_superpoint_mean():
    logits = np.array([[1.0, 0.0, 3.0], [3.0, 2.0, -1.0], [0.0, 5.0, 0.0], [7.0, 7.0, 7.0]], np.float32)
    sp = np.array([4, 4, 9, 4])
    out = pool_logits(logits, sp)
    mean = logits[[0, 1, 3]].mean(axis=0)
    np.testing.assert_allclose(out[[0, 1, 3]], np.tile(mean, (3, 1)), rtol=1e-6)
    np.testing.assert_allclose(out[2], logits[2])
    # singletons: no change
    np.testing.assert_allclose(pool_logits(logits, np.arange(4)), logits)
    with pytest.raises(InputError, match="superpoints"):
        pool_logits(logits, sp[:3])
    with pytest.raises(InputError, match="non-negative"):
        pool_logits(logits, np.array([0, -1, 0, 0]))


def test_pooled_null_keeps_a_superpoint_unlabelled():
    # 3 points of one superpoint: one says "part 0" weakly, two say "none": the pooled argmax is none
    logits = np.array([[2.0, 0.0, 1.5], [0.0, 0.0, 3.0], [0.5, 0.0, 2.0]], np.float32)
    pooled = pool_logits(logits, np.zeros(3, np.int64))
    assert (pooled.argmax(axis=1) == 2).all()


def _toy_student(n_parts=2, pool="none"):
    return build_student(n_parts, TINY.replace(pool=pool), seed=3)


def test_predict_shape_pooled_is_constant_per_superpoint():
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(600, 3)).astype(np.float32)
    sp = (xyz[:, 0] > 0).astype(np.int64) * 2 + (xyz[:, 1] > 0)  # 4 quadrant superpoints
    student = _toy_student(pool="superpoints")
    labels, probs = predict_shape(student, xyz, superpoints=sp)
    for s in range(4):
        assert len(np.unique(labels[sp == s])) == 1
        np.testing.assert_allclose(probs[sp == s], np.tile(probs[sp == s][0], (int((sp == s).sum()), 1)), rtol=1e-5)
    # pool=None takes the student's config; an explicit "none" overrides it and equals the old path
    plain_labels, plain_probs = predict_shape(student, xyz, pool="none")
    ref_labels, ref_probs = predict_shape(_toy_student(pool="none"), xyz)
    np.testing.assert_array_equal(plain_labels, ref_labels)
    np.testing.assert_allclose(plain_probs, ref_probs)
    # the pooled probabilities are the softmax of the superpoint-mean logits of the point-wise path
    with torch.no_grad():
        from scipy.spatial import cKDTree

        from partlift.distill.student import point_inputs, student_frame, subsample

        xs = student_frame(xyz)
        idx = subsample(len(xs), TINY.n_points, np.random.default_rng(0))
        lg = student(torch.from_numpy(xs[idx])[None], torch.from_numpy(point_inputs(xs[idx], None, None, TINY))[None])
        lg = lg[0].numpy()[cKDTree(xs[idx]).query(xs, k=1)[1]]
    want = torch.softmax(torch.from_numpy(pool_logits(lg, sp)), dim=-1).numpy()[:, :2]
    np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-6)


def test_predict_shape_pool_needs_superpoints():
    xyz = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
    student = _toy_student(pool="superpoints")
    with pytest.raises(InputError, match="superpoints"):
        predict_shape(student, xyz)
    with pytest.raises(InputError, match="superpoints"):
        predict_shape(student, xyz, superpoints=np.zeros(99, np.int64))
    with pytest.raises(InputError, match="pool"):
        predict_shape(student, xyz, pool="mean")


def test_config_pool_validation():
    assert DistillConfig().pool in ("none", "superpoints")
    with pytest.raises(InputError, match="pool"):
        DistillConfig(pool="voxels")


def test_old_checkpoint_without_pool_labels_pointwise(tmp_path):
    student = _toy_student(pool="superpoints")
    cfg = student.config.to_dict()
    path = save_student(tmp_path / "s.safetensors", student, {"part_names": ["a", "b"], "config": cfg})
    assert load_student(path).config.pool == "superpoints"
    cfg.pop("pool")  # a file written before the option
    old = save_student(tmp_path / "old.safetensors", student, {"part_names": ["a", "b"], "config": cfg})
    assert load_student(old).config.pool == "none"


def _toy_knowledge():
    # 4 knowledge points in 2 superpoints {0, 1}, {2, 3}; predictions d0 (class 0) covers 0, 1;
    # d1 (class 1) covers 2, 3; d2 = null covers 3
    return ShapeKnowledge(
        name="toy", xyz=np.zeros((4, 3), np.float32), inputs=np.zeros((4, 3), np.float32),
        point_index=np.arange(4), pred_class=np.array([0, 1, 2]),
        pred_conf=np.array([0.8, 0.9, 0.5], np.float32),
        pair_point=np.array([0, 1, 2, 3, 3]), pair_pred=np.array([0, 0, 1, 1, 2]),
        part_names=("a", "b"), with_null=True)


def test_rescore_pool_judges_against_pooled_labels():
    know = _toy_knowledge()
    # point-wise part argmax = [0, 1, 1, 0]; pooled: superpoint {0,1} -> 0 (0 is strong at point 0),
    # superpoint {2,3} -> 1
    logits = np.array([[6.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 6.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    sp = np.array([0, 0, 1, 1])
    plain = _rescored(logits, know, DistillConfig())
    np.testing.assert_allclose(plain[:2], [0.5, 0.5])
    pooled = _rescored(logits, know, DistillConfig(rescore_pool=True), superpoints=sp)
    np.testing.assert_allclose(pooled[:2], [1.0, 1.0])
    # without the option the superpoints are ignored; without superpoints the option is point-wise
    np.testing.assert_allclose(_rescored(logits, know, DistillConfig(), superpoints=sp), plain)
    np.testing.assert_allclose(_rescored(logits, know, DistillConfig(rescore_pool=True)), plain)


@pytest.fixture(scope="module")
def chair_case():
    from partlift.config import render_preset
    from partlift.distill.knowledge import build_knowledge, render_for_teacher
    from partlift.teachers.registry import build_teacher

    shape = __import__("partlift.data.synthetic", fromlist=["generate"]).generate("Chair", 1, n_points=1500)
    norm, views = render_for_teacher(shape, render_preset("tiny"))
    preds = build_teacher("simulated:zeroshot", seed=0, mode="box").predict(views, shape.part_names, norm)
    know = build_knowledge(norm, views, preds, TINY, region="box")
    sp = (np.floor((norm.xyz + 1) * 3).astype(np.int64) @ np.array([36, 6, 1])).astype(np.int64)
    return norm, know, sp


def test_align_rescore_pool_uses_the_superpoints(chair_case):
    norm, know, sp = chair_case
    cfg = TINY.replace(rescore_pool=True, tta_epochs=10, tta_steps_per_epoch=4, backward_latest=0.9)
    ksp = sp[know.point_index]
    with_sp = align([know], norm.part_names, cfg, regime="tta", superpoints=[ksp])
    without = align([know], norm.part_names, cfg, regime="tta")
    assert with_sp.backward_epoch == without.backward_epoch
    # the labels the round judged against are constant per superpoint, and κ′ follows from them
    from partlift.distill.losses import rescore

    labels = with_sp.rescore_labels[0]
    for s in np.unique(ksp):
        assert len(np.unique(labels[ksp == s])) == 1
    assert any(len(np.unique(without.rescore_labels[0][ksp == s])) > 1 for s in np.unique(ksp))
    part = know.pred_class < len(norm.part_names)
    again = rescore(labels, know.pair_point, know.pair_pred, know.pred_class, mode="agree")
    np.testing.assert_allclose(with_sp.rescored[0][part], again[part])
    with pytest.raises(InputError, match="superpoint id"):
        align([know], norm.part_names, cfg, regime="tta", superpoints=[ksp[:-1]])


def test_tta_method_with_pool_labels_whole_superpoints():
    from partlift.data.synthetic import generate
    from partlift.pipeline import Segmenter

    shape = generate("Chair", 2, n_points=1500)
    opts = {"preset": "tiny", "pool": "superpoints"}
    seg = Segmenter(teacher="simulated:zeroshot", method="partdistill-tta", preset="tiny", seed=0, cache_dir=None,
                    method_options=opts)
    labels = seg.segment(shape, shape.part_names)
    prepared = seg.prepare(shape)
    sp = prepared.superpoints
    for s in np.unique(sp):
        assert len(np.unique(labels.semantic[sp == s])) == 1
    assert json.loads(json.dumps(labels.meta["distill"]["config"]))["pool"] == "superpoints"


def test_rescore_combine_multiply():
    know = _toy_knowledge()
    logits = np.array([[6.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 6.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    plain = _rescored(logits, know, DistillConfig())
    mult = _rescored(logits, know, DistillConfig(rescore_combine="multiply"))
    np.testing.assert_allclose(mult[:2], plain[:2] * know.pred_conf[:2], rtol=1e-6)  # κ′ · teacher score
    # with the class norm each class keeps its forward weight: one prediction per class -> its score back
    both = _rescored(logits, know, DistillConfig(rescore_combine="multiply", rescore_class_norm=True))
    np.testing.assert_allclose(both[:2], know.pred_conf[:2], rtol=1e-6)
    with pytest.raises(InputError, match="rescore_combine"):
        DistillConfig(rescore_combine="add")
