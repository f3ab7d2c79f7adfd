"""The learned teacher (issue 15): network, inputs, checkpoint, trainer, teacher, CLI.

Everything runs on tiny settings (32-pixel working resolution, 64-pixel renders, a few hundred
points, width-8 networks) so the file stays fast; no download, no packaged checkpoint needed.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from partlift.config import PARTSLIP_VIEWS, RenderConfig
from partlift.data import synthetic
from partlift.errors import CheckpointError, InputError, UnavailableError
from partlift.geometry import ensure_normals, normalize
from partlift.render import render
from partlift.teachers import learned
from partlift.teachers.learned.checkpoint import (
    MAX_BYTES,
    Vocabulary,
    load_checkpoint,
    read_header,
    save_checkpoint,
)
from partlift.teachers.learned.data import DataConfig
from partlift.teachers.learned.inputs import view_inputs, view_targets
from partlift.teachers.learned.network import MASKED_LOGIT, ModelConfig, PartUNet
from partlift.teachers.learned.teacher import LearnedTeacher
from partlift.teachers.learned.train import TrainPaths, train_teacher
from partlift.teachers.registry import build_teacher
from partlift.types import Predictions

TINY_RENDER = RenderConfig(image_size=64, point_radius=0.04)
TINY_DATA = DataConfig(resolution=32, extra_views=1, points=(800, 1200), render_choices=((64, 0.04),),
                       eval_render=(64, 0.04))


def _vocab() -> Vocabulary:
    return Vocabulary.from_parts({c: synthetic.category_parts(c) for c in ("Bucket", "Kettle")})


def _random_checkpoint(path, *, width=8, resolution=32, favour=None):
    vocab = _vocab()
    torch.manual_seed(0)
    model = PartUNet(ModelConfig(len(vocab.classes), len(vocab.categories), width=width, resolution=resolution))
    if favour is not None:  # make every object pixel this class, so that predictions exist
        with torch.no_grad():
            model.head.bias[vocab.classes.index(favour)] = 50.0
    save_checkpoint(path, model, vocab, {"training": {"command": "test"}, "render": {}, "data": {"seed": 0}})
    return model, vocab


@pytest.fixture(scope="module")
def bucket():
    shape = ensure_normals(normalize(synthetic.generate("Bucket", 3, n_points=1500)).replace(normals=None))
    return shape, render(shape, TINY_RENDER)


def test_network_masks_foreign_classes():
    vocab = _vocab()
    model = PartUNet(ModelConfig(len(vocab.classes), len(vocab.categories), width=8, resolution=32))
    cid = vocab.category_index("Bucket")
    logits, feats = model(torch.randn(2, 8, 32, 32), torch.tensor([cid, cid]), vocab.class_mask())
    assert logits.shape == (2, len(vocab.classes), 32, 32) and feats.shape == (2, 8, 32, 32)
    allowed = vocab.class_mask()[cid]
    assert (logits[:, ~allowed] == MASKED_LOGIT).all()
    assert (logits[:, allowed] > MASKED_LOGIT / 2).all()
    assert set(np.array(vocab.classes)[allowed.numpy()]) == {"no part", "handle"}
    with pytest.raises(InputError, match="divisible by 8"):
        model(torch.randn(1, 8, 30, 30), torch.tensor([cid]), vocab.class_mask())


def test_inputs_and_targets_follow_the_pixel_map(bucket):
    shape, views = bucket
    x, fg = view_inputs(views, shape.normals, 64)  # same size: no resampling
    assert x.shape == (10, 8, 64, 64) and x.dtype == torch.float32
    assert torch.equal(fg, torch.from_numpy(views.pix2point >= 0))
    assert torch.equal(x[:, 3] > 0.5, fg)
    assert (x[:, 0:3][~fg[:, None].expand(-1, 3, -1, -1)] == 1.0).all()  # white background
    n = x[:, 5:8].norm(dim=1)
    assert torch.allclose(n[fg], torch.ones_like(n[fg]), atol=1e-4) and (x[:, 7][fg] <= 1e-6).all()
    cls = np.where(shape.semantic >= 0, 3, 0)
    t = view_targets(views, cls, 64)
    expect = np.where(views.pix2point >= 0, cls[np.maximum(views.pix2point, 0)], -1)
    assert np.array_equal(t.numpy(), expect)
    t16 = view_targets(views, cls, 16)
    x16, fg16 = view_inputs(views, shape.normals, 16)
    assert torch.equal(t16 >= 0, fg16) and set(np.unique(t16.numpy())) <= {-1, 0, 3}
    with pytest.raises(InputError, match="rendered from"):
        view_inputs(views, shape.normals[:-1], 16)


@pytest.mark.parametrize("size,res", [(800, 128), (400, 192), (130, 16), (64, 64)])
def test_sparse_pool_equals_area_pooling(size, res):
    from partlift.teachers.learned.inputs import pool_to, sparse_pool

    g = torch.Generator().manual_seed(size + res)
    x = torch.rand(3, size, size, generator=g) * (torch.rand(1, size, size, generator=g) > 0.8)
    nz = torch.nonzero(x[0] > 0)
    vals = x[:, nz[:, 0], nz[:, 1]].T.contiguous()
    got = sparse_pool(nz[:, 0], nz[:, 1], vals, (size, size), res)
    assert torch.allclose(got, pool_to(x[None], res)[0], atol=1e-6)
    with pytest.raises(InputError, match="only downsampling"):
        sparse_pool(nz[:, 0], nz[:, 1], vals, (size, size), size + 1)


def test_random_network_end_to_end(tmp_path, bucket):
    shape, views = bucket
    path = tmp_path / "t.safetensors"
    _random_checkpoint(path, favour="handle")
    teacher = build_teacher(f"learned:{path}")
    assert isinstance(teacher, LearnedTeacher) and teacher.kind == "mask" and not teacher.needs_ground_truth
    preds = teacher.predict(views, ["handle"], shape)
    assert isinstance(preds, Predictions) and len(preds) >= views.n_views // 2
    assert preds.masks.shape == (len(preds), 64, 64) and preds.features.shape == (len(preds), 8)
    assert preds.teacher == teacher.name and preds.teacher.startswith("learned(t.safetensors,")
    assert (preds.label == 0).all() and ((preds.score > 0) & (preds.score <= 1)).all()
    for d in range(len(preds)):
        rows, cols = np.nonzero(preds.masks[d])
        x1, y1, x2, y2 = preds.boxes[d]
        assert x1 == cols.min() - 0.5 and x2 == cols.max() + 0.5 and y1 == rows.min() - 0.5 and y2 == rows.max() + 0.5
        assert (views.pix2point[preds.view[d]][preds.masks[d]] >= 0).mean() > 0.5
    assert np.all(np.diff(preds.view) >= 0)
    # deterministic, and the pixel / box modes
    again = teacher.predict(views, ["handle"], shape)
    assert np.array_equal(again.masks, preds.masks) and np.array_equal(again.features, preds.features)
    pixel = build_teacher(f"learned:{path}", mode="pixel").predict(views, ["handle"], shape)
    assert pixel.masks is not None and len(np.unique(pixel.view)) == len(pixel)
    boxes = build_teacher(f"learned:{path}", mode="box").predict(views, ["handle"], shape)
    assert boxes.masks is None and len(boxes) == len(preds)


def test_unknown_part_category_and_missing_category(tmp_path, bucket):
    shape, views = bucket
    path = tmp_path / "t.safetensors"
    _random_checkpoint(path)
    teacher = build_teacher(f"learned:{path}")
    with pytest.raises(InputError, match=r"'lid' is not a part it knows for Bucket; it knows handle") as err:
        teacher.predict(views, ["handle", "lid"], shape)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="not one it was trained on; it knows Bucket, Kettle"):
        teacher.predict(views, ["handle"], shape.replace(category="Chair"))
    with pytest.raises(InputError, match="--category"):
        teacher.predict(views, ["handle"], shape.replace(category=None))
    empty = teacher.predict(views, ["HANDLE "], shape)  # names match ignoring case and spaces
    assert empty.part_names == ("HANDLE ",)


def test_checkpoint_round_trip_and_strictness(tmp_path):
    path = tmp_path / "t.safetensors"
    model, vocab = _random_checkpoint(path, width=8, resolution=32)
    assert path.stat().st_size <= MAX_BYTES
    header = read_header(path)
    assert header["categories"] == ["Bucket", "Kettle"]
    assert header["part_names"] == {"Bucket": ["handle"], "Kettle": ["lid", "handle", "spout"]}
    assert header["classes"] == ["no part", "handle", "lid", "spout"]
    assert header["model"] == {"n_classes": 4, "n_categories": 2, "width": 8, "embed_dim": 32, "resolution": 32}
    assert header["training"]["command"] == "test" and header["data"] == {"seed": 0}
    loaded, vocab2, _ = load_checkpoint(path)
    assert vocab2 == vocab
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    # a tensor missing or of the wrong shape: refused
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    meta = {"partlift_teacher": json.dumps(header)}
    bad = dict(tensors)
    bad["head.bias"] = torch.zeros(5)
    save_file(bad, str(tmp_path / "bad.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="does not load"):
        load_checkpoint(tmp_path / "bad.safetensors")
    del bad["head.bias"]
    save_file(bad, str(tmp_path / "bad2.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="does not load"):
        load_checkpoint(tmp_path / "bad2.safetensors")
    save_file(tensors, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not a partlift learned-teacher"):
        read_header(tmp_path / "plain.safetensors")
    with pytest.raises(InputError, match="not found; train one"):
        build_teacher(f"learned:{tmp_path / 'missing.safetensors'}")


def test_packaged_checkpoint_or_clear_error(monkeypatch):
    monkeypatch.setattr(learned, "packaged_checkpoints", lambda: ())
    with pytest.raises(UnavailableError, match="no packaged checkpoint.*partlift train-teacher"):
        build_teacher("learned")
    assert learned.describe()["checkpoint"] is None


def test_packaged_checkpoint_loads_when_shipped():
    path = learned.packaged_checkpoint()
    if path is None:
        pytest.skip("no packaged learned-teacher checkpoint in this checkout")
    teacher = build_teacher("learned")
    union = sorted({c for p in learned.packaged_checkpoints() for c in read_header(p)["categories"]})
    assert path == learned.packaged_checkpoints()[0]
    assert teacher.categories == tuple(union)
    assert learned.describe()["categories"] == list(teacher.categories)


def _toy(out, **kw):
    args = dict(steps=2, batch_size=2, resolution=32, width=8, crop=24, eval_shapes=0, progress=False,
                data_config=TINY_DATA, checkpoint_every=1)
    args.update(kw)
    return train_teacher(["Bucket"], 1, out, 3, **args)


def _tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_resume_equals_uninterrupted_and_determinism(tmp_path):
    a = _toy(tmp_path / "a.safetensors")
    assert a["steps_done"] == 2 and a["out"] is not None
    part = _toy(tmp_path / "b.safetensors", stop_after=1)
    assert part["out"] is None and part["steps_done"] == 1
    assert TrainPaths.beside(tmp_path / "b.safetensors").state.is_file()
    assert not (tmp_path / "b.safetensors").exists()
    b = _toy(tmp_path / "b.safetensors")
    assert b["steps_done"] == 2
    ta, tb = _tensors(tmp_path / "a.safetensors"), _tensors(tmp_path / "b.safetensors")
    assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
    c = _toy(tmp_path / "c.safetensors", resume=False)
    tc = _tensors(tmp_path / "c.safetensors")
    assert all(torch.equal(ta[k], tc[k]) for k in ta) and c["final_loss"] == a["final_loss"]
    d = _toy(tmp_path / "d.safetensors", steps=1)  # a different seed stream gives other weights
    assert not all(torch.equal(ta[k], _tensors(tmp_path / "d.safetensors")[k]) for k in ta)
    log = json.loads((tmp_path / "a.log.json").read_text())
    assert len(log["loss"]) == 2 and (tmp_path / "a.loss.png").stat().st_size > 1000
    header = read_header(tmp_path / "a.safetensors")
    assert header["data"]["seed"] == 3 and header["training"]["steps"] == 2
    assert header["render"]["resolution"] == 32 and "command" in header["training"]
    with pytest.raises(CheckpointError, match="different training run"):
        _toy(tmp_path / "b.safetensors", lr=1e-4)
    assert d["steps_done"] == 1


def test_training_loss_decreases(tmp_path):
    s = train_teacher(["Bucket", "Kettle"], 1, tmp_path / "t.safetensors", 0, steps=40, batch_size=4,
                      resolution=32, width=8, crop=32, lr=1e-2, eval_shapes=1, progress=False,
                      data_config=TINY_DATA, checkpoint_every=50)
    loss = json.loads((tmp_path / "t.log.json").read_text())["loss"]
    assert len(loss) == 40
    assert np.mean(loss[-8:]) < 0.8 * np.mean(loss[:8])
    assert s["eval"]["miou"] is not None and set(s["eval"]["categories"]) == {"Bucket", "Kettle"}


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="unknown categories"):
        train_teacher(["Spaceship"], 1, tmp_path / "t.safetensors")
    with pytest.raises(InputError, match="must end in .safetensors"):
        train_teacher(["Bucket"], 1, tmp_path / "t.pt")
    with pytest.raises(InputError, match="shapes_per_category"):
        train_teacher(["Bucket"], 0, tmp_path / "t.safetensors")


def test_cli_register_runs(tmp_path, capsys):
    from partlift.cli import train_teacher as cli

    parser = argparse.ArgumentParser(prog="partlift")
    cli.register(parser.add_subparsers())
    out = tmp_path / "cli.safetensors"
    args = parser.parse_args(["train-teacher", "--categories", "Bucket", "--shapes-per-category", "1",
                              "--out", str(out), "--steps", "1", "--batch-size", "1", "--resolution", "16",
                              "--width", "8", "--extra-views", "0", "--eval-shapes", "0", "--no-progress"])
    assert args.func(args) == 0
    header = read_header(out)
    assert header["training"]["command"].startswith("partlift train-teacher --categories Bucket")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["steps_done"] == 1
    assert PARTSLIP_VIEWS[0] in [tuple(v) for v in header["render"]["base_views"]]


def test_routed_teacher_sends_each_category_to_the_first_member_that_knows_it(tmp_path, monkeypatch):
    """Two checkpoints: the first knows Bucket, the second Bucket and Kettle. Bucket goes to the
    first, Kettle to the second, an unknown category fails with one line naming both sets."""
    from learned_tiny import write_tiny_teacher
    from partlift.teachers.learned.routed import RoutedTeacher

    first = write_tiny_teacher(tmp_path / "teacher.safetensors", ("Bucket",), seed=1)
    second = write_tiny_teacher(tmp_path / "teacher-all.safetensors", ("Bucket", "Kettle"), seed=2)
    monkeypatch.setattr(learned, "packaged_checkpoints", lambda: (first, second))
    teacher = build_teacher("learned")
    assert isinstance(teacher, RoutedTeacher) and teacher.kind == "mask" and teacher.needs_category
    assert teacher.categories == ("Bucket", "Kettle")
    assert "teacher.safetensors" in teacher.name and "teacher-all.safetensors" in teacher.name
    assert teacher.member_for("bucket") is teacher.members[0]
    assert teacher.member_for("Kettle") is teacher.members[1]
    d = learned.describe()
    assert d["categories"] == ["Bucket", "Kettle"] and [len(m["categories"]) for m in d["members"]] == [1, 2]

    kettle = ensure_normals(normalize(synthetic.generate("Kettle", 5, n_points=1500)).replace(normals=None))
    views = render(kettle, TINY_RENDER)
    names = synthetic.category_parts("Kettle")
    got = teacher.predict(views, names, kettle)
    alone = LearnedTeacher.load(second).predict(views, names, kettle)
    assert got.teacher == teacher.name and got.meta["member"] == teacher.members[1].name
    np.testing.assert_array_equal(got.label, alone.label)
    np.testing.assert_array_equal(got.score, alone.score)
    assert got.feature_dim == alone.feature_dim

    with pytest.raises(InputError, match="'Oven' is not one it was trained on; it knows Bucket, Kettle"):
        teacher.predict(views, ["door"], kettle.replace(category="Oven"))
    with pytest.raises(InputError, match="part 'spout' is not a part it knows for Bucket"):
        teacher.vocab.part_classes("Bucket", ("spout",))
