"""Point-M2AE masked-autoencoder pre-training (``partlift pretrain``) on a tiny generated corpus."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from partlift.distill.point_m2ae import Attention
from partlift.distill.point_m2ae_io import load_point_m2ae, read_encoder_state
from partlift.distill.point_m2ae_mae import PointM2AEPretrainModel, chamfer_l2, multiscale_mask
from partlift.distill.point_m2ae_ops import ATTENTION_MASK_VALUE, group
from partlift.distill.pretrain import (
    PretrainConfig,
    PretrainPaths,
    expand_sources,
    load_corpus,
    pretrain,
)
from partlift.errors import CheckpointError, InputError

TINY = PretrainConfig(epochs=2, batch_size=2, points=512, pool_points=768, warmup_epochs=1)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(["synthetic:Chair:2", "synthetic:Kettle:1"], pool_points=TINY.pool_points)


def test_expand_and_load_corpus(corpus):
    from partlift.data.synthetic import list_categories

    specs = expand_sources(["synthetic:all:3:test:5", "some/folder"])
    assert specs[:-1] == [f"synthetic:{c}:3:test:5" for c in list_categories()] and specs[-1] == "some/folder"
    with pytest.raises(InputError, match=r"malformed .synthetic:all:x.*synthetic:CAT:N"):
        expand_sources(["synthetic:all:x"])
    clouds, names = corpus
    assert clouds.shape == (3, 768, 3) and clouds.dtype == np.float32 and len(names) == 3
    assert np.linalg.norm(clouds, axis=2).max() == pytest.approx(1.0, abs=1e-5)  # student frame
    with pytest.raises(InputError, match="at least one"):
        load_corpus([])


def test_multiscale_mask_propagates_down():
    g = torch.Generator().manual_seed(0)
    xyz = torch.rand(2, 1024, 3, generator=g) * 2 - 1
    groups, pts = [], xyz
    for n, k in ((512, 16), (256, 8), (64, 8)):
        _, c, idx = group(pts, n, k)
        groups.append(idx)
        pts = c
    vis = multiscale_mask(tuple(groups), 64, 0.8, torch.Generator().manual_seed(1))
    assert [v.shape for v in vis] == [(2, 512), (2, 256), (2, 64)]
    assert vis[2].sum(1).tolist() == [13, 13]  # int(0.8 * 64) = 51 masked
    for s in (2, 1):
        for b in range(2):
            members = groups[s][b][vis[s][b]].unique()
            expect = torch.zeros(vis[s - 1].shape[1], dtype=torch.bool)
            expect[members] = True
            assert torch.equal(vis[s - 1][b], expect)  # visible below == members of visible groups above


def test_key_mask_equals_packing_the_visible_tokens():
    torch.manual_seed(0)
    attn = Attention(12, 6).eval()
    x = torch.randn(1, 6, 12)
    visible = torch.tensor([[True, False, True, True, False, False]])
    mask = ((~visible).float()[:, None, :] * ATTENTION_MASK_VALUE).expand(-1, 6, -1)
    with torch.no_grad():
        torch.testing.assert_close(attn(x, mask)[visible], attn(x[visible][None])[0])


def test_chamfer_hand_case():
    pred = torch.tensor([[[0.0, 0, 0], [1, 0, 0]]])
    gt = torch.tensor([[[0.0, 0, 0], [0, 2, 0], [1, 0, 0]]])
    # pred -> gt: 0, 0; gt -> pred: 0, 4 (to the origin), 0
    assert chamfer_l2(pred, gt).item() == pytest.approx(0 + 4 / 3)


def test_model_keys_are_the_official_layout_and_gradients_reach_the_encoder():
    from test_point_m2ae import official_decoder_keys, official_encoder_keys

    torch.manual_seed(0)
    model = PointM2AEPretrainModel()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {**official_encoder_keys(), **official_decoder_keys()}
    xyz = torch.rand(2, 600, 3) * 2 - 1
    loss = model(xyz, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert model.h_encoder.token_embed[0].first_conv[0].weight.grad.abs().sum() > 0
    assert model.h_encoder.encoder_blocks[2].blocks[4].mlp.fc2.weight.grad.abs().sum() > 0


def test_pretrain_writes_files_and_resume_equals_uninterrupted(corpus, tmp_path):
    clouds, _ = corpus
    full = pretrain(clouds, TINY, paths=PretrainPaths.for_output(tmp_path / "a.safetensors"), meta={"corpus": "t"})
    assert len(full.log) == 2 and all(np.isfinite(r["loss"]) for r in full.log)
    assert (tmp_path / "a.log.json").is_file() and (tmp_path / "a.curve.png").is_file()
    assert not (tmp_path / "a.state.pt").exists()
    tensors, meta = read_encoder_state(tmp_path / "a.safetensors")
    assert meta["corpus"] == "t" and meta["epochs_done"] == 2 and meta["config"]["points"] == 512
    enc = load_point_m2ae(tmp_path / "a.safetensors")
    # interrupted after epoch 0 (time limit), then resumed: the same weights
    paths = PretrainPaths.for_output(tmp_path / "b.safetensors")
    first = pretrain(clouds, TINY.replace(time_limit_s=1e-6), paths=paths)
    assert first.stopped_early and len(first.log) == 1 and paths.state.is_file()
    with pytest.raises(CheckpointError, match="another corpus or config"):  # not this run's state
        pretrain(clouds, TINY.replace(seed=1), paths=paths)
    second = pretrain(clouds, TINY, paths=paths)
    assert second.resumed_from == 1 and [r["loss"] for r in second.log] == [r["loss"] for r in full.log]
    for k, v in enc.state_dict().items():
        assert torch.equal(v, second.encoder.state_dict()[k]), k


def test_config_validation():
    with pytest.raises(InputError, match="points"):
        PretrainConfig(points=100)
    with pytest.raises(InputError, match="pool_points"):
        PretrainConfig(points=2048, pool_points=1000)
    assert PretrainConfig.from_dict(json.loads(json.dumps(TINY.to_dict()))) == TINY


def test_cli_pretrain(tmp_path, capsys):
    from partlift.cli import pretrain as cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    out = tmp_path / "enc.safetensors"
    args = parser.parse_args(["pretrain", "--corpus", "synthetic:Chair:1", "--out", str(out), "--epochs", "1",
                              "--batch-size", "1", "--no-progress"])
    assert args.func(args) == 0
    assert "pre-trained the point-m2ae encoder on 1 shapes" in capsys.readouterr().out
    from partlift.distill.backbones import build_backbone

    assert build_backbone("point-m2ae", 3, encoder=str(out)).out_dim == 681
    assert read_encoder_state(out)[1]["storage_dtype"] == "float16" and out.stat().st_size < 30e6
