"""PartDistill knowledge, student, alignment loop, checkpoints and resume (METHODS §4.2–4.6)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from partlift.config import render_preset
from partlift.distill.align import AlignPaths, align, load_student, predict_knowledge, save_student
from partlift.distill.backbones import (
    build_backbone,
    farthest_point_sample,
    interpolate,
    knn,
    list_backbones,
)
from partlift.distill.config import DistillConfig, config_from_dict, distill_preset
from partlift.distill.knowledge import (
    ShapeKnowledge,
    build_knowledge,
    render_for_teacher,
    resolve_region,
)
from partlift.distill.student import build_student, predict_shape, student_frame, subsample
from partlift.errors import CheckpointError, InputError
from partlift.types import Camera, Predictions, Views

TINY = distill_preset("tiny")


# ------------------------------------------------------------------------------- hand-made knowledge


def _views(screen_xy, visible, size=16):
    v, n = visible.shape
    return Views(
        rgb=np.zeros((v, size, size, 3), np.uint8),
        pix2point=np.full((v, size, size), -1, np.int64),
        screen_xy=np.asarray(screen_xy, np.float32),
        visible=np.asarray(visible, bool),
        depth=np.ones((v, n), np.float32),
        cameras=tuple(Camera(0.0, 90.0 * i, 2.2, 60.0) for i in range(v)),
    )


def _hand_case():
    """4 points on a line, 2 views; view 0: box A (part 0) covers points 0, 1; view 1: box B
    (part 1) covers point 2; point 3 is visible in view 1 only and uncovered."""
    from partlift.types import Shape

    xyz = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]], np.float32)
    shape = Shape(xyz=xyz, name="hand")
    sx = np.array([[[1, 1], [3, 1], [5, 1], [7, 1]]] * 2, np.float32)
    vis = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    views = _views(sx, vis)
    preds = Predictions(
        view=np.array([0, 1]), label=np.array([0, 1]), score=np.array([0.9, 0.6], np.float32),
        boxes=np.array([[0, 0, 4, 2], [4, 0, 6, 2]], np.float32), features=np.zeros((2, 1), np.float32),
        part_names=("a", "b"), image_size=(16, 16), teacher="hand",
    )
    return shape, views, preds


def test_knowledge_hand_computed_without_null():
    shape, views, preds = _hand_case()
    cfg = DistillConfig(n_points=4, knowledge_points=4, null_class=False)
    k = build_knowledge(shape, views, preds, cfg, region="box")
    assert sorted(k.point_index.tolist()) == [0, 1, 2, 3]
    pairs = {(int(k.point_index[p]), int(d)) for p, d in zip(k.pair_point, k.pair_pred, strict=True)}
    assert pairs == {(0, 0), (1, 0), (2, 1)}
    assert k.pred_conf.tolist() == pytest.approx([0.9, 0.6])
    assert k.covered_fraction == pytest.approx(0.75)
    assert not k.is_empty
    np.testing.assert_allclose(k.xyz, student_frame(shape.xyz)[k.point_index])


def test_knowledge_null_pseudo_predictions():
    shape, views, preds = _hand_case()
    cfg = DistillConfig(n_points=4, knowledge_points=4, null_class=True, null_weight=0.3)
    k = build_knowledge(shape, views, preds, cfg, region="box")
    assert k.with_null and k.n_classes == 3
    assert k.pred_class.tolist() == [0, 1, 2, 2]  # two teacher predictions + one null per view
    assert k.pred_conf.tolist() == pytest.approx([0.9, 0.6, 0.3, 0.3])
    pairs = {(int(k.point_index[p]), int(d)) for p, d in zip(k.pair_point, k.pair_pred, strict=True)}
    # view 0: visible 0, 1, 2; 2 is uncovered in view 0 -> null of view 0 (pred 2)
    # view 1: visible 1, 2, 3; 1 and 3 uncovered in view 1 -> null of view 1 (pred 3)
    assert pairs == {(0, 0), (1, 0), (2, 1), (2, 2), (1, 3), (3, 3)}
    assert k.covered_fraction == pytest.approx(0.75)  # null pairs do not count


def test_knowledge_is_empty_when_teacher_finds_nothing():
    shape, views, preds = _hand_case()
    empty = Predictions.empty(("a", "b"), (16, 16), 1, "hand")
    k = build_knowledge(shape, views, empty, DistillConfig(n_points=4, knowledge_points=4), region="box")
    assert k.is_empty and k.n_pairs > 0  # only null pairs


def test_knowledge_save_load_roundtrip(tmp_path):
    shape, views, preds = _hand_case()
    k = build_knowledge(shape, views, preds, DistillConfig(n_points=4, knowledge_points=4), region="box")
    k2 = ShapeKnowledge.load(k.save(tmp_path / "k.npz"))
    for f in ("xyz", "inputs", "point_index", "pred_class", "pred_conf", "pair_point", "pair_pred"):
        np.testing.assert_array_equal(getattr(k, f), getattr(k2, f))
    assert k2.part_names == k.part_names and k2.with_null == k.with_null


def test_resolve_region():
    _, _, preds = _hand_case()
    assert resolve_region("auto", "box", preds) == "box"
    with pytest.raises(InputError, match="mask"):
        resolve_region("auto", "pixel", preds)  # a pixel teacher must give masks


def test_subsample_tiles_small_shapes():
    idx = subsample(3, 8, np.random.default_rng(0))
    assert idx.shape == (8,) and set(idx.tolist()) == {0, 1, 2}
    idx = subsample(10, 4, np.random.default_rng(0))
    assert len(set(idx.tolist())) == 4


# ------------------------------------------------------------------------------- backbones


def test_knn_and_fps_and_interpolate():
    x = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [10, 0, 0]]])
    assert knn(x, x, 2)[0].tolist() == [[0, 1], [1, 0], [2, 1], [3, 2]]
    assert farthest_point_sample(x, 3)[0].tolist() == [0, 3, 2]
    f = torch.tensor([[[1.0], [3.0]]])
    centres = x[:, [0, 2]]
    out = interpolate(x, centres, f, k=2)
    assert out[0, 0, 0] == pytest.approx(1.0, abs=1e-6) and out[0, 2, 0] == pytest.approx(3.0, abs=1e-6)


@pytest.mark.parametrize("name", list_backbones())
def test_backbones_shapes_and_permutation_equivariance(name):
    torch.manual_seed(0)
    net = build_backbone(name, 3, 0.25).eval()
    x = torch.rand(1, 64, 3)
    out = net(x, x)
    assert out.shape == (1, 64, net.out_dim)
    if name not in ("pointnet2", "point-m2ae"):  # FPS starts at index 0, so these depend on the order
        perm = torch.randperm(64)
        torch.testing.assert_close(net(x[:, perm], x[:, perm]), out[:, perm], atol=1e-5, rtol=1e-5)


def test_unknown_backbone():
    with pytest.raises(InputError, match="pointnet2"):
        build_backbone("pointnet3", 3)


# ------------------------------------------------------------------------------- config


def test_config_roundtrip_and_validation():
    cfg = DistillConfig(backbone="dgcnn", scale_range=(0.8, 1.2))
    assert config_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(InputError, match="knowledge_points"):
        DistillConfig(n_points=4096, knowledge_points=2048)
    with pytest.raises(InputError, match="rescore"):
        DistillConfig(rescore="max")
    with pytest.raises(InputError, match="unknown settings"):
        config_from_dict({"epochz": 3})


# ------------------------------------------------------------------------------- alignment


@pytest.fixture(scope="module")
def chair_knowledge():
    from partlift.data.synthetic import generate
    from partlift.teachers.registry import build_teacher

    teacher = build_teacher("simulated:oracle", seed=0, mode="box")
    out = []
    for seed in (1, 2):
        shape = generate("Chair", seed, n_points=1500)
        norm, views = render_for_teacher(shape, render_preset("tiny"))
        preds = teacher.predict(views, shape.part_names, norm)
        out.append((norm, build_knowledge(norm, views, preds, TINY, region="box")))
    return out


def test_align_tta_is_deterministic_and_runs_backward(chair_knowledge):
    shape, k = chair_knowledge[0]
    r1 = align([k], shape.part_names, TINY, regime="tta")
    r2 = align([k], shape.part_names, TINY, regime="tta")
    assert [row["loss"] for row in r1.log] == [row["loss"] for row in r2.log]
    assert r1.backward_epoch is not None and r1.backward_epoch <= 3  # ceil(0.6 * 4) at the latest
    assert r1.log[r1.backward_epoch]["mode"] == "backward"
    assert r1.rescored is not None and r1.rescored[0].shape == (k.n_predictions,)
    assert np.all((r1.rescored[0] >= 0) & (r1.rescored[0] <= 1))
    # the labels the re-scoring judged against: κ′ is recomputed from them exactly
    from partlift.distill.losses import rescore

    assert r1.rescore_labels is not None and r1.rescore_labels[0].shape == (k.n_points,)
    part = k.pred_class < len(shape.part_names)
    again = rescore(r1.rescore_labels[0], k.pair_point, k.pair_pred, k.pred_class, mode=TINY.rescore)
    np.testing.assert_allclose(r1.rescored[0][part], again[part])
    labels, probs = predict_shape(r1.student, shape.xyz)
    assert labels.shape == (shape.n_points,) and probs.shape == (shape.n_points, len(shape.part_names))
    assert labels.min() >= -1 and labels.max() < len(shape.part_names)


def test_align_forward_only(chair_knowledge):
    shape, k = chair_knowledge[0]
    r = align([k], shape.part_names, TINY.replace(backward=False), regime="tta")
    assert r.backward_epoch is None and all(row["mode"] == "forward" for row in r.log)
    assert r.rescored is None and r.rescore_labels is None


def test_align_rejects_empty_and_mismatched(chair_knowledge):
    shape, k = chair_knowledge[0]
    with pytest.raises(InputError, match="empty"):
        align([], shape.part_names, TINY)
    with pytest.raises(InputError, match="parts"):
        align([k], ("a", "b"), TINY)
    empty = ShapeKnowledge(**{**k.__dict__, "pair_point": np.zeros(0, np.int64), "pair_pred": np.zeros(0, np.int64)})
    with pytest.raises(InputError, match="found nothing"):
        align([empty], shape.part_names, TINY)


def test_pre_alignment_resume_equals_uninterrupted(chair_knowledge, tmp_path):
    shape = chair_knowledge[0][0]
    know = [k for _, k in chair_knowledge]
    cfg = TINY.replace(batch_size=2, epochs=4)
    full = align(know, shape.part_names, cfg, regime="pre", paths=AlignPaths.for_output(tmp_path / "a.safetensors"))
    # "interrupt" after 2 epochs: run a 2-epoch prefix by stopping the loop through the state file
    paths = AlignPaths.for_output(tmp_path / "b.safetensors")
    import partlift.distill.align as align_mod

    calls = {"n": 0}
    real_save = align_mod._save_state

    def interrupting_save(path, state):
        real_save(path, state)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    align_mod._save_state = interrupting_save
    try:
        with pytest.raises(KeyboardInterrupt):
            align(know, shape.part_names, cfg, regime="pre", paths=paths)
    finally:
        align_mod._save_state = real_save
    assert paths.state.is_file() and not paths.out.exists()
    resumed = align(know, shape.part_names, cfg, regime="pre", paths=paths)
    assert resumed.resumed_from == 2
    assert [r["loss"] for r in resumed.log] == [r["loss"] for r in full.log]
    assert not paths.state.exists() and paths.log.is_file() and paths.curve.is_file()
    log = json.loads(paths.log.read_text())
    assert len(log["epochs"]) == 4
    a = load_student(tmp_path / "a.safetensors").student.state_dict()
    b = load_student(paths.out).student.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_resume_state_from_another_run_fails(chair_knowledge, tmp_path):
    shape = chair_knowledge[0][0]
    know = [k for _, k in chair_knowledge]
    paths = AlignPaths.for_output(tmp_path / "s.safetensors")
    torch.save({"fingerprint": "other"}, paths.state)
    with pytest.raises(CheckpointError, match="different run"):
        align(know, shape.part_names, TINY.replace(batch_size=2), regime="pre", paths=paths)


def test_student_checkpoint_checks(chair_knowledge, tmp_path):
    shape, k = chair_knowledge[0]
    student = build_student(len(shape.part_names), TINY)
    path = save_student(tmp_path / "s.safetensors", student, {"part_names": list(shape.part_names),
                                                              "config": TINY.to_dict(), "category": "Chair"})
    loaded = load_student(path, part_names=shape.part_names)
    assert loaded.part_names == shape.part_names
    with pytest.raises(CheckpointError, match="parts asked for"):
        load_student(path, part_names=("seat", "leg"))
    with pytest.raises(CheckpointError, match="expected backbone"):
        load_student(path, backbone="dgcnn" if TINY.backbone != "dgcnn" else "pointnet")
    # a checkpoint whose tensors come from another backbone
    bad = save_student(tmp_path / "bad.safetensors", student, {"part_names": list(shape.part_names),
                                                               "config": TINY.to_dict()})
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(bad), framework="pt") as f:
        meta = f.metadata()
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    info = json.loads(meta["partlift_distill"])
    info["backbone"] = info["config"]["backbone"] = "dgcnn"
    save_file(tensors, str(bad), metadata={"partlift_distill": json.dumps(info)})
    with pytest.raises(CheckpointError, match="another backbone"):
        load_student(bad)
    # not a student at all
    save_file({"w": torch.zeros(1)}, str(tmp_path / "stad.safetensors"), metadata={"partlift_stad": "{}"})
    with pytest.raises(CheckpointError, match="not a PartDistill student"):
        load_student(tmp_path / "stad.safetensors")
    with pytest.raises(InputError, match="not found"):
        load_student(tmp_path / "missing.safetensors")


def test_predict_knowledge_shapes(chair_knowledge):
    shape, k = chair_knowledge[0]
    student = build_student(len(shape.part_names), TINY)
    labels = predict_knowledge(student, [k, k])
    assert len(labels) == 2 and labels[0].shape == (k.n_points,)
    np.testing.assert_array_equal(labels[0], labels[1])
    assert labels[0].max() <= len(shape.part_names)  # the null output is index C
    parts = predict_knowledge(student, [k], parts_only=True)[0]
    assert parts.max() < len(shape.part_names)


def test_adam_and_cosine_match_torch():
    from partlift.distill.align import Adam, cosine_lr

    torch.manual_seed(0)
    a = torch.nn.Linear(4, 3)
    b = torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    ours = Adam(list(a.parameters()), lr=0.01)
    ref = torch.optim.Adam(b.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(ref, T_max=5, eta_min=0.0001)
    x = torch.randn(8, 4)
    for epoch in range(5):
        ours.lr = cosine_lr(epoch, 5, 0.01, 0.0001)
        assert ours.lr == pytest.approx(ref.param_groups[0]["lr"], rel=1e-9)
        for net, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            (net(x) ** 2).sum().backward()
            opt.step()
        sched.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_rescore_class_norm_keeps_each_class_weight():
    from partlift.distill.align import _rescored
    from partlift.distill.knowledge import ShapeKnowledge

    # 4 points; predictions d0, d1 (class 0), d2 (class 1), d3 (null); student part argmax = [0, 1, 1, 1]
    know = ShapeKnowledge(
        name="toy", xyz=np.zeros((4, 3), np.float32), inputs=np.zeros((4, 3), np.float32),
        point_index=np.arange(4), pred_class=np.array([0, 0, 1, 2]),
        pred_conf=np.array([0.8, 0.6, 0.9, 0.5], np.float32),
        pair_point=np.array([0, 1, 1, 2, 3, 3]), pair_pred=np.array([0, 0, 1, 2, 2, 3]),
        part_names=("a", "b"), with_null=True)
    logits = np.full((4, 3), -5.0, np.float32)
    logits[[0, 1, 2, 3], [0, 1, 1, 1]] = 5.0
    plain = _rescored(logits, know, DistillConfig())
    np.testing.assert_allclose(plain[:3], [0.5, 0.0, 1.0])  # agreement fractions (§4.5)
    norm = _rescored(logits, know, DistillConfig(rescore_class_norm=True))
    # class 0: pairs weigh 2*0.8 + 0.6 = 2.2 before, 2*0.5 + 0 = 1.0 after -> x2.2; class 1: 1.8 / 2 -> x0.9
    np.testing.assert_allclose(norm[:3], [1.1, 0.0, 0.9], rtol=1e-6)
    # the ranking within a class is that of plain κ′; the part evidence keeps its total, so null stays
    np.testing.assert_allclose(norm[3], 0.5, rtol=1e-6)


# ------------------------------------------------------------------------------- backward trigger


def _released_trigger(losses, window=5, min_epoch=5, threshold=0.01):
    """The released train.py's trigger, transcribed: 1-based epochs, moving-average change below
    0.01 once ``epoch >= n_mov_avg``; the round starts at the next epoch. Returns its 0-based
    index (the 1-based epoch of the plateau == the 0-based index of the next epoch)."""
    window_losses, prev = [], 0.0
    for epoch, loss in enumerate(losses, start=1):
        window_losses.append(loss)
        if len(window_losses) > window:
            window_losses.pop(0)
        diff = abs(float(np.mean(window_losses)) - prev)
        prev = float(np.mean(window_losses))
        if diff < threshold and epoch >= min_epoch:
            return epoch
    return None


# flat from the start: the plateau counts after the 5th epoch -> the round starts at index 5
FLAT = [0.5] * 10
# falls by 0.1 per epoch to 0.5, then flat: window means 1, .95, .9, .85, .8, .7, .62, .56, .52,
# .5, .5 -> changes .05 .05 .05 .05 .1 .08 .06 .04 .02 0 -> plateau after the 11th epoch -> index 11
FALLING = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


def test_backward_start_epoch_as_released():
    from partlift.distill.align import backward_start_epoch

    cfg = DistillConfig()  # window 5, delta 0.01, min epoch 5 (§4.5)
    assert backward_start_epoch(FLAT, cfg) == 5 == _released_trigger(FLAT)
    assert backward_start_epoch(FALLING, cfg) == 11 == _released_trigger(FALLING)
    assert backward_start_epoch(FLAT[:4], cfg) is None  # 4 epochs: too early
    assert backward_start_epoch([1.0, 0.5] * 6, cfg) is None  # never settles (changes 0.1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        seq = np.round(np.cumsum(rng.uniform(-0.02, 0.0, 15)) + 1.0, 4).tolist()
        assert backward_start_epoch(seq, cfg) == _released_trigger(seq)


@pytest.mark.parametrize(("losses", "want"), [(FLAT, 5), (FALLING, 11)])
def test_align_fires_backward_at_the_released_epoch(chair_knowledge, monkeypatch, losses, want):
    """The real loop on a hand-made loss sequence: each epoch's steps return that epoch's loss."""
    import partlift.distill.align as align_mod

    shape, k = chair_knowledge[0]
    cfg = TINY.replace(tta_epochs=len(losses), tta_steps_per_epoch=2, plateau_window=5, plateau_min_epoch=5,
                       plateau_delta=0.01, backward_latest=1.0)
    calls = {"n": 0}

    def scripted_loss(logits, *args, **kwargs):
        value = losses[calls["n"] // cfg.tta_steps_per_epoch]
        calls["n"] += 1
        return logits.sum() * 0.0 + value

    monkeypatch.setattr(align_mod, "forward_loss", scripted_loss)
    r = align([k], shape.part_names, cfg, regime="tta")
    assert [row["loss"] for row in r.log] == pytest.approx(losses)
    assert r.backward_epoch == want
    assert [row["mode"] for row in r.log] == ["forward"] * want + ["backward"] * (len(losses) - want)
