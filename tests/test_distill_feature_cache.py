"""Cached frozen-encoder features for the ``point-m2ae`` student (DistillConfig.feature_cache)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from partlift.distill.align import _make_batch, align, feature_cache
from partlift.distill.config import DistillConfig, distill_preset
from partlift.distill.student import build_student
from partlift.errors import InputError

CFG = distill_preset("point-m2ae").replace(
    head_hidden=32, n_points=256, knowledge_points=384, tta_epochs=3, tta_steps_per_epoch=2,
    plateau_min_epoch=1, plateau_window=2, feature_cache=3,
)


@pytest.fixture(scope="module")
def case():
    from partlift.config import render_preset
    from partlift.data.synthetic import generate
    from partlift.distill.knowledge import build_knowledge, render_for_teacher
    from partlift.teachers.registry import build_teacher

    shape = generate("Chair", 1, n_points=1200)
    norm, views = render_for_teacher(shape, render_preset("tiny"))
    preds = build_teacher("simulated:oracle", seed=0, mode="box").predict(views, shape.part_names, norm)
    return norm, build_knowledge(norm, views, preds, CFG, region="box")


def test_cached_features_equal_recomputed(case):
    norm, know = case
    student = build_student(len(norm.part_names), CFG)
    dev = torch.device("cpu")
    cache = feature_cache(student, [know], CFG, dev)
    assert len(cache) == 1 and len(cache[0]) == CFG.feature_cache
    confs = [know.pred_conf]
    for j, draw in enumerate(cache[0]):
        assert draw.features.shape == (CFG.n_points, student.backbone.out_dim)
        assert not draw.features.requires_grad
        # the draw is the loop's draw + augmentation under the generator (seed, 7919, shape, copy) ...
        batch = _make_batch(np.array([0]), [know], confs, CFG, np.random.default_rng([CFG.seed, 7919, 0, j]), dev)
        # ... and its features are the frozen encoder's on that draw, bit for bit, also after training
        student.train()
        again = student.backbone(batch.xyz, batch.inputs)[0]
        assert torch.equal(again, draw.features)
    # draws differ from each other (different subsets and augmentations)
    assert not torch.equal(cache[0][0].features, cache[0][1].features)


def test_tta_with_feature_cache_trains_the_head_only(case):
    norm, know = case
    r1 = align([know], norm.part_names, CFG, regime="tta")
    r2 = align([know], norm.part_names, CFG, regime="tta")
    assert [row["loss"] for row in r1.log] == [row["loss"] for row in r2.log]
    assert all(np.isfinite(row["loss"]) for row in r1.log)
    fresh = build_student(len(norm.part_names), CFG)
    for k, v in r1.student.backbone.state_dict().items():
        assert torch.equal(v, fresh.backbone.state_dict()[k]), k  # the encoder never moves
    changed = [not torch.equal(v, fresh.head.state_dict()[k]) for k, v in r1.student.head.state_dict().items()]
    assert all(changed)
    # the cached path is another training path than the per-step encoder (different augmentation draws)
    r0 = align([know], norm.part_names, CFG.replace(feature_cache=0), regime="tta")
    assert [row["loss"] for row in r0.log] != [row["loss"] for row in r1.log]


def test_feature_cache_needs_a_frozen_backbone(case):
    norm, know = case
    cfg = distill_preset("tiny").replace(feature_cache=2)
    with pytest.raises(InputError, match="frozen backbone"):
        align([know], norm.part_names, cfg, regime="tta")


def test_feature_cache_validation():
    with pytest.raises(InputError, match="feature_cache"):
        DistillConfig(feature_cache=-1)
    with pytest.raises(InputError, match="feature_cache"):
        DistillConfig(feature_cache=True)
