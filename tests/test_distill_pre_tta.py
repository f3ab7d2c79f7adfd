"""Pre-alignment followed by TTA (issue 16): ``align(init=...)`` and the ``partdistill-pre-tta`` method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from partlift.distill.align import align, load_student, save_student
from partlift.distill.config import distill_preset
from partlift.distill.student import build_student
from partlift.errors import CheckpointError, InputError
from partlift.methods import get_method

TINY = distill_preset("tiny")


@pytest.fixture(scope="module")
def chair_knowledge():
    from partlift.config import render_preset
    from partlift.data.synthetic import generate
    from partlift.distill.knowledge import build_knowledge, render_for_teacher
    from partlift.teachers.registry import build_teacher

    shape = generate("Chair", 2, n_points=1500)
    norm, views = render_for_teacher(shape, render_preset("tiny"))
    preds = build_teacher("simulated:zeroshot", seed=0, mode="box").predict(views, shape.part_names, norm)
    return build_knowledge(norm, views, preds, TINY, region="box"), tuple(shape.part_names)


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_align_starts_from_init_weights(chair_knowledge):
    know, names = chair_knowledge
    init = build_student(len(names), TINY, seed=11)
    before = _params(init)
    # lr ~ 0: the aligned student is the init student (a fresh one differs)
    still = TINY.replace(lr=1e-12, backward=False)
    out = align([know], names, still, regime="tta", init=init).student
    for k, v in _params(out).items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=1e-6)
    fresh = align([know], names, still, regime="tta").student
    assert any(not torch.allclose(v, before[k]) for k, v in _params(fresh).items() if v.is_floating_point())
    # the init network itself is not modified by a real run
    align([know], names, TINY, regime="tta", init=init)
    for k, v in _params(init).items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_align_init_must_fit(chair_knowledge):
    know, names = chair_knowledge
    wrong = build_student(len(names) + 1, TINY, seed=0)  # another part list -> another head
    with pytest.raises(CheckpointError, match="init student does not fit"):
        align([know], names, TINY, regime="tta", init=wrong)
    with pytest.raises(InputError, match="torch.nn.Module"):
        align([know], names, TINY, regime="tta", init="student.safetensors")


def test_partdistill_pre_tta_is_a_partdistill_variant():
    spec = get_method("partdistill-pre-tta")
    assert spec.base == "partdistill" and spec.overrides == {"tta": True}
    from partlift.distill.method import PartdistillRun

    assert PartdistillRun.from_options({"student": "x", "tta": True}).tta is True
    with pytest.raises(InputError, match="tta must be true or false"):
        PartdistillRun.from_options({"student": "x", "tta": "yes"})


def test_segment_with_pre_tta_starts_from_the_student(tmp_path: Path, chair_knowledge):
    """A pre-aligned student file + --method partdistill-pre-tta: TTA on the shape from its weights,
    with the settings it was pre-aligned with (regime pre+tta in the result's meta)."""
    from partlift import Segmenter
    from partlift.data.synthetic import generate

    know, names = chair_knowledge
    pre = align([know], names, TINY, regime="pre")
    path = save_student(tmp_path / "chair.student.safetensors", pre.student,
                        {"part_names": list(names), "config": TINY.to_dict(), "category": "Chair",
                         "teacher": "simulated:zeroshot(seed=0)"})
    assert load_student(path).config == TINY
    shape = generate("Chair", 5, n_points=1500)
    seg = Segmenter(teacher="simulated:zeroshot", preset="tiny", cache_dir=None)
    res = seg.segment(shape, list(names), method="partdistill-pre-tta", options={"student": str(path)})
    meta = _distill_meta(res.meta)
    assert meta["regime"] == "pre+tta" and meta["student"] == str(path) and meta["category"] == "Chair"
    assert json.loads(json.dumps(meta))  # JSON-able
    plain = seg.segment(shape, list(names), method="partdistill", options={"student": str(path)})
    assert _distill_meta(plain.meta)["regime"] == "pre"
    assert res.semantic.shape == plain.semantic.shape == (shape.n_points,)
    assert meta["n_pairs"] > 0 and meta["final_loss"] is not None and meta["seconds"]["align"] > 0
    assert meta["config"]["epochs"] == TINY.epochs  # the settings the student was pre-aligned with


def _distill_meta(meta):
    """The method's ``distill`` block wherever the Segmenter nests it."""
    if "distill" in meta:
        return meta["distill"]
    for v in meta.values():
        if isinstance(v, dict):
            found = _distill_meta(v)
            if found is not None:
                return found
    return None
