"""The shared trainer pieces (partlift.training): files, optimisers, schedule, state, weights, log, curve."""

from __future__ import annotations

import json

import pytest
import torch

from partlift import training
from partlift.errors import CheckpointError, InputError


def test_run_paths_names():
    p = training.RunPaths.for_output("/x/out/chair.safetensors")
    assert p.log.name == "chair.log.json" and p.curve.name == "chair.curve.png" and p.state.name == "chair.state.pt"
    assert p.stem.name == "chair" and p.log.parent == p.out.parent
    assert training.RunPaths.for_output("/x/plain").state.name == "plain.state.pt"


def test_both_methods_use_the_same_file_names(tmp_path):
    from partlift.distill.align import AlignPaths
    from partlift.stad.fit import FitPaths

    a, b = AlignPaths.for_output(tmp_path / "w.safetensors"), FitPaths.for_weights(tmp_path / "w.safetensors")
    assert (a.out, a.log, a.curve, a.state) == (b.weights, b.log, b.curve, b.state)


def test_build_optimizer_adamw_is_torch_adamw_and_adam_matches_torch():
    torch.manual_seed(0)
    nets = [torch.nn.Linear(3, 2) for _ in range(4)]
    for n in nets[1:]:
        n.load_state_dict(nets[0].state_dict())
    ours_w = training.build_optimizer("adamw", nets[0].parameters(), lr=0.01, weight_decay=0.01)
    ref_w = torch.optim.AdamW(nets[1].parameters(), lr=0.01, weight_decay=0.01)
    ours_a = training.build_optimizer("adam", nets[2].parameters(), lr=0.01)
    ref_a = torch.optim.Adam(nets[3].parameters(), lr=0.01)
    assert isinstance(ours_w, torch.optim.AdamW) and isinstance(ours_a, training.Adam)
    x = torch.randn(5, 3)
    for _ in range(3):
        for net, opt in zip(nets, (ours_w, ref_w, ours_a, ref_a), strict=True):
            opt.zero_grad()
            (net(x) ** 2).sum().backward()
            opt.step()
    for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(p, q)
    for p, q in zip(nets[2].parameters(), nets[3].parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_build_optimizer_rejects_bad_input():
    params = list(torch.nn.Linear(2, 2).parameters())
    with pytest.raises(InputError, match="unknown optimiser 'sgd'"):
        training.build_optimizer("sgd", params, lr=0.1)
    with pytest.raises(InputError, match="lr must be"):
        training.build_optimizer("adam", params, lr=0.0)
    with pytest.raises(InputError, match="no weight decay"):
        training.build_optimizer("adam", params, lr=0.1, weight_decay=0.01)


def test_cosine_lr_hand_computed():
    assert training.cosine_lr(0, 10, 1.0, 0.01) == pytest.approx(1.0)
    assert training.cosine_lr(5, 10, 1.0, 0.01) == pytest.approx(0.505)  # half way: the mean
    assert training.cosine_lr(10, 10, 1.0, 0.01) == pytest.approx(0.01)


def test_state_round_trip_same_run_check_and_unreadable(tmp_path):
    path = tmp_path / "r.state.pt"
    training.save_state(path, {"fingerprint": "abc", "epoch": 3, "w": torch.arange(4.0), "log": "[]"})
    state = training.load_state(path)
    assert state["epoch"] == 3 and torch.equal(state["w"], torch.arange(4.0))
    training.check_same_run(state, "abc", path, "shapes")
    with pytest.raises(CheckpointError, match="different run"):
        training.check_same_run(state, "xyz", path, "shapes")
    path.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="unreadable resume state"):
        training.load_state(path)
    # weights_only: a state holding an arbitrary object is refused, not unpickled
    torch.save({"obj": _Foreign()}, path)
    with pytest.raises(CheckpointError, match="unreadable resume state"):
        training.load_state(path)


class _Foreign:
    pass


def test_weights_round_trip_and_errors(tmp_path):
    net = torch.nn.Linear(2, 3)
    path = training.save_weights(tmp_path / "w.safetensors", net, "k", {"a": [1, 2]})
    meta, tensors = training.read_weights(path, "k", expected="a test file")
    assert meta == {"a": [1, 2]} and torch.equal(tensors["weight"], net.weight.detach())
    assert training.read_weights(path, "other", expected="x")[0] is None
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    with pytest.raises(InputError, match="not found; expected a test file"):
        training.read_weights(tmp_path / "missing.safetensors", "k", expected="a test file")
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        training.read_weights(tmp_path / "bad.safetensors", "k", expected="x")


def test_log_and_curves(tmp_path):
    log = training.write_log(tmp_path / "r.log.json", {"category": "Chair"}, [{"epoch": 0, "loss": 1.0}],
                             knowledge={"n": 2})
    data = json.loads(log.read_text())
    assert list(data) == ["meta", "knowledge", "epochs"] and data["epochs"][0]["loss"] == 1.0
    png = training.draw_curves(tmp_path / "r.curve.png", [
        training.Panel([0, 1, 2], [training.Series([3.0, 2.0, 1.5], "loss")], ylabel="loss", marks=[(1.5, "x")]),
        training.Panel([0, 1, 2], [training.Series([0.1, 0.2, 0.3])], ylabel="mIoU"),
    ])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="at least one panel"):
        training.draw_curves(tmp_path / "none.png", [])


def test_adam_scales_multiply_the_rate_per_parameter():
    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(4)), torch.nn.Parameter(torch.randn(4))
    ref_a, ref_b = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    opt = training.Adam([a, b], lr=0.1, scales=[1.0, 0.25])
    ref1, ref2 = torch.optim.Adam([ref_a], lr=0.1), torch.optim.Adam([ref_b], lr=0.025)
    for _ in range(3):
        for o in (opt, ref1, ref2):
            o.zero_grad()
        ((a ** 2).sum() + (b ** 3).sum()).backward()
        ((ref_a ** 2).sum() + (ref_b ** 3).sum()).backward()
        for o in (opt, ref1, ref2):
            o.step()
    torch.testing.assert_close(a, ref_a)
    torch.testing.assert_close(b, ref_b)
    with pytest.raises(InputError, match="one lr scale per parameter"):
        training.Adam([a, b], lr=0.1, scales=[1.0])
