"""PartSTAD core math: encoding, weight net, vectorised vote, mRIoU (METHODS §3.3–3.5, §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from partlift.config import PARTSLIP_VIEWS
from partlift.errors import InputError
from partlift.lifting.coverage import coverage
from partlift.lifting.voting import VoteConfig, vote_superpoints, whole_object_boxes
from partlift.stad.config import StadConfig
from partlift.stad.data import shape_tensors
from partlift.stad.encoding import box_corners, positional_encoding, prediction_inputs, view_vectors
from partlift.stad.loss import mriou_loss, relaxed_iou
from partlift.stad.net import StadModel, WeightNet, context_norm
from partlift.stad.voting import (
    hard_votes,
    probabilities,
    weighted_scores,
    weighted_scores_reference,
)
from partlift.types import Camera
from stad_scene import PARTS, scene

# ------------------------------------------------------------------------------ encoding


def test_positional_encoding_layout():
    q = torch.tensor([[0.5, -1.0]])
    out = positional_encoding(q, 3)
    assert out.shape == (1, 2 * 7)
    expected = [0.5, -1.0]
    for i in range(3):
        f = 2.0**i
        expected += [math.sin(f * 0.5), math.sin(-f), math.cos(f * 0.5), math.cos(-f)]
    assert torch.allclose(out[0], torch.tensor(expected), atol=1e-6)
    assert positional_encoding(torch.zeros(4, 7), 10).shape == (4, 147)


def test_view_vectors_released_quirk_matches_methods_table():
    cams = [Camera(e, a, 2.2, 60.0) for e, a in PARTSLIP_VIEWS]
    got = view_vectors(cams, released_quirk=True)
    table = [(0, .9848, .1736), (.1736, .9848, 0), (0, .9848, 0), (0, .9848, 0), (0, .7660, .6428),
             (.5567, .7660, 0), (0, .7660, 0), (0, .9397, 0), (0, .9397, .3420), (.2962, .9397, 0)]
    np.testing.assert_allclose(got, np.array(table), atol=1e-4)
    true = view_vectors(cams)
    np.testing.assert_allclose(np.linalg.norm(true, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(true[0], cams[0].direction)
    assert len({tuple(r) for r in np.round(true, 6)}) == 10  # every view has its own code


def test_box_corners_normalised_and_swapped():
    boxes = np.array([[10.0, 20.0, 30.0, 60.0]])
    np.testing.assert_allclose(box_corners(boxes, (100, 200)), [[0.05, 0.2, 0.15, 0.6]])
    # released: x2 = x1 + h, y2 = y1 + w (w = 20, h = 40)
    np.testing.assert_allclose(box_corners(boxes, (100, 200), released_quirk=True), [[0.05, 0.2, 0.25, 0.4]])


def test_prediction_inputs_any_feature_dim():
    for fdim in (1, 6, 256):
        views, sp, preds, gt = scene(0, feature_dim=fdim)
        x = prediction_inputs(preds, views.cameras, StadConfig())
        assert x.shape == (len(preds), fdim + 147) and x.dtype == torch.float32
        assert prediction_inputs(preds, views.cameras, StadConfig(pos_enc=False)).shape == (len(preds), fdim)


# ------------------------------------------------------------------------------ network


def test_weight_net_init_parameter_count_and_tau():
    cfg = StadConfig()
    model = StadModel(403, cfg, generator=torch.Generator().manual_seed(0))
    n_params = sum(p.numel() for p in model.net.parameters())
    assert n_params == 163_216  # METHODS §3.3 (+ 1 null scalar)
    w = model.weights(torch.randn(50, 403))
    assert torch.all((w - 10.0).abs() < 0.05)
    assert float(model.null().detach()) == pytest.approx(10.0)


def test_one_prediction_gives_no_nan_and_finite_gradients():
    net = WeightNet(20, StadConfig())
    x = torch.randn(1, 20, requires_grad=True)
    w = net(x)
    assert torch.isfinite(w).all()
    w.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    assert torch.isfinite(x.grad).all()
    assert torch.equal(context_norm(torch.randn(1, 5), 1e-8), torch.zeros(1, 5))


def test_null_score_clamped():
    model = StadModel(4, StadConfig())
    with torch.no_grad():
        model.null_score.fill_(-3.0)
    assert float(model.null().detach()) == pytest.approx(5e-4)


def test_weight_net_rejects_wrong_feature_size():
    with pytest.raises(InputError, match="feature dimension"):
        WeightNet(10, StadConfig())(torch.zeros(3, 11))


# ------------------------------------------------------------------------------ voting


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hard_vote_equals_partslip(seed):
    """§6 sanity test 1: w = 1, boxes, no softmax -> PartSLIP's s_{k,c} (same filter / rules)."""
    views, sp, preds, gt = scene(seed)
    for quirk in (False, True):
        st = shape_tensors(views, sp, preds, StadConfig(masks=False, vote={"aabb_zero_area_quirk": quirk}))
        ref = vote_superpoints(views, preds, sp, VoteConfig(aabb_zero_area_quirk=quirk)).scores
        got = np.zeros_like(ref)
        got[st.superpoint_ids] = hard_votes(st).numpy()
        np.testing.assert_allclose(got, ref, atol=1e-6)
        assert (ref[np.setdiff1d(np.arange(ref.shape[0]), st.superpoint_ids)] == 0).all()


@pytest.mark.parametrize("masks,min_visible", [(False, 1), (True, 1), (True, 2)])
def test_weighted_vote_matches_loop_reference(masks, min_visible):
    views, sp, preds, gt = scene(3, n_views=4)
    cfg = StadConfig(masks=masks, min_visible_points=min_visible, vote={"whole_object_ratio": 2.0})
    st = shape_tensors(views, sp, preds, cfg)
    w = np.random.default_rng(0).uniform(0, 10, len(preds))
    got = weighted_scores(st, torch.tensor(w, dtype=torch.float32)).numpy()
    cov = coverage(views, preds, region="mask" if masks else "box")
    ref = weighted_scores_reference(views, sp, preds, cov, w, min_visible_points=min_visible)
    full = np.zeros_like(ref)
    full[st.superpoint_ids] = got
    np.testing.assert_allclose(full, ref, rtol=1e-5, atol=1e-5)


def test_whole_object_filter_flag():
    views, sp, preds, gt = scene(0)
    whole = whole_object_boxes(views, preds, 0.98)
    assert whole.sum() == 1
    on = shape_tensors(views, sp, preds, StadConfig(masks=False))
    off = shape_tensors(views, sp, preds, StadConfig(masks=False, vote={"whole_object_ratio": 2.0}))
    assert on.meta["n_kept"] == len(preds) - 1 and off.meta["n_kept"] == len(preds)
    assert hard_votes(off).sum() > hard_votes(on).sum()


def test_masks_required_for_mask_voting():
    views, sp, preds, gt = scene(0)
    no_masks = preds.select(np.arange(len(preds)))
    object.__setattr__(no_masks, "masks", None)
    with pytest.raises(InputError, match="masks"):
        shape_tensors(views, sp, no_masks, StadConfig(masks=True))


def test_no_predictions_gives_empty_tensors():
    views, sp, preds, gt = scene(0)
    empty = preds.select(np.zeros(len(preds), bool))
    st = shape_tensors(views, sp, empty, StadConfig(), gt=gt)
    assert st.n_valid == 0 and st.n_groups == 0
    assert weighted_scores(st, torch.zeros(0)).shape == (0, 3)


def test_conservative_at_init():
    """§6 sanity test 2: at init (w ~ 10, null = 10) PartSTAD labels less than PartSLIP."""
    from partlift.lifting.voting import label_superpoints
    from partlift.stad.fit import label_valid

    views, sp, preds, gt = scene(0)
    st = shape_tensors(views, sp, preds, StadConfig(masks=False), gt=gt)
    model = StadModel(st.inputs.shape[1], StadConfig())
    with torch.no_grad():
        probs = probabilities(weighted_scores(st, model.weights(st.inputs)), model.null())
    stad = label_valid(probs, st, VoteConfig())
    slip = label_superpoints(vote_superpoints(views, preds, sp).scores, PARTS)
    assert (slip >= 0).sum() > 0
    assert (stad >= 0).sum() < (slip >= 0).sum()


# ------------------------------------------------------------------------------ loss


def test_relaxed_iou_hand_computed():
    probs = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    gt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([2.0, 4.0])
    # part 0: I = 2, sum P = 4, sum G = 2 -> 2 / 4; part 1: I = 2, sum P = 2, sum G = 4 -> 2 / 4
    torch.testing.assert_close(relaxed_iou(probs, gt, n), torch.tensor([0.5, 0.5]))
    full = torch.cat([torch.zeros(2, 1), gt], dim=1)
    assert float(mriou_loss(full, gt, n)) == pytest.approx(0.0)


def test_absent_part_constant_loss():
    probs = torch.tensor([[0.2, 0.5, 0.3]], requires_grad=True)
    gt = torch.tensor([[1.0, 0.0]])
    loss = mriou_loss(probs, gt, torch.tensor([3.0]))
    loss.backward()
    assert probs.grad[0, 2] == 0  # the absent part adds a constant 1
    # part 0: I = 1.5, sum P = 1.5, sum G = 3 -> RIoU 0.5; part 1: RIoU 0
    assert float(loss.detach()) == pytest.approx(((1 - 0.5) + 1) / 2)


def test_gradients_finite_on_scene():
    views, sp, preds, gt = scene(1)
    st = shape_tensors(views, sp, preds, StadConfig(), gt=gt)
    model = StadModel(st.inputs.shape[1], StadConfig(), generator=torch.Generator().manual_seed(0))
    loss = mriou_loss(probabilities(weighted_scores(st, model.weights(st.inputs)), model.null()), st.gt, st.n_points)
    loss.backward()
    assert torch.isfinite(loss)
    for p in model.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert model.null_score.grad != 0


def test_one_prediction_shape_trains_without_nan():
    views, sp, preds, gt = scene(0, n_preds=1)
    st = shape_tensors(views, sp, preds, StadConfig(masks=False), gt=gt)
    model = StadModel(st.inputs.shape[1], StadConfig())
    loss = mriou_loss(probabilities(weighted_scores(st, model.weights(st.inputs)), model.null()), st.gt, st.n_points)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


# ------------------------------------------------------------------ vote rules: one home (VoteConfig)


def _old_config_dict(**old):
    """A StadConfig dict as checkpoints wrote it before the vote fields moved to VoteConfig."""
    data = StadConfig().to_dict()
    del data["vote"]
    data.update({"vote_eps": 1e-6, "whole_object_filter": True, "aabb_shortcut": False, **old})
    return data


def test_stad_vote_rules_default_to_the_partstad_vote_preset():
    from partlift.lifting.config import VOTE_PRESETS, vote_preset

    assert StadConfig().vote_rules() == VoteConfig(aabb_zero_area_quirk=False) == vote_preset("partstad")
    assert VOTE_PRESETS["partstad"] == {"aabb_zero_area_quirk": False}
    run = VoteConfig(priority_mode="size", vote_eps=1e-5)  # the run's vote is the base
    assert StadConfig().vote_rules(run) == run.replace(aabb_zero_area_quirk=False)
    assert StadConfig(vote={"aabb_zero_area_quirk": True}).vote_rules(run) == run
    with pytest.raises(InputError, match="unknown setting.*'nonsense'.*valid ones"):
        StadConfig(vote={"nonsense": 1})
    with pytest.raises(InputError, match="VoteConfig.vote_eps"):
        StadConfig(vote={"vote_eps": -1.0})
    with pytest.raises(InputError, match="unknown setting"):
        StadConfig().replace(aabb_shortcut=True)  # the field moved
    cfg = StadConfig(vote={"whole_object_ratio": 2.0, "aabb_zero_area_quirk": True})
    assert StadConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("old,rules", [
    ({}, {"vote_eps": 1e-6, "aabb_zero_area_quirk": False}),
    ({"whole_object_filter": False, "aabb_shortcut": True, "vote_eps": 1e-3},
     {"vote_eps": 1e-3, "aabb_zero_area_quirk": True, "whole_object_ratio": 2.0}),
])
def test_checkpoint_with_the_old_vote_fields_loads_and_votes_as_before(tmp_path, old, rules):
    from partlift.stad.checkpoint import load_checkpoint, save_checkpoint

    data = _old_config_dict(**old)
    cfg_now = StadConfig(vote=rules)
    model = StadModel(12 + cfg_now.encoding_dim, cfg_now)
    meta = {"category": "Toy", "part_names": list(PARTS), "teacher": "toy", "feature_dim": 12,
            "in_dim": 12 + cfg_now.encoding_dim, "config": data}
    path = save_checkpoint(tmp_path / "old.safetensors", model, meta)
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg_now and ckpt.config.vote == rules
    # The old flags' vote: the filter off means every box votes; the shortcut is PartSLIP's.
    views, sp, preds, gt = scene(0)
    st = shape_tensors(views, sp, preds, ckpt.config.replace(masks=False))
    off = old.get("whole_object_filter", True) is False
    assert st.meta["n_kept"] == (len(preds) if off else len(preds) - 1)
    ref_cfg = VoteConfig(aabb_zero_area_quirk=rules["aabb_zero_area_quirk"], vote_eps=rules["vote_eps"],
                         whole_object_ratio=2.0 if off else 0.98)
    ref = vote_superpoints(views, preds, sp, ref_cfg).scores
    got = np.zeros_like(ref)
    got[st.superpoint_ids] = hard_votes(st).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-6)
