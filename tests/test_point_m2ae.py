"""Point-M2AE encoder (METHODS §4.3): geometry by hand, strict loading of the official
checkpoint layout, the frozen ``point-m2ae`` backbone and a TTA run with it."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from partlift.distill.point_m2ae import POINT_FEATURE_DIM, Attention, DropPath, build_point_m2ae
from partlift.distill.point_m2ae_io import (
    check_encoder_state,
    load_point_m2ae,
    read_encoder_state,
    save_point_m2ae,
)
from partlift.distill.point_m2ae_ops import (
    ATTENTION_MASK_VALUE,
    farthest_point_sample,
    knn,
    local_attention_mask,
    three_nn_interpolate,
)
from partlift.errors import CheckpointError, InputError

# ------------------------------------------------------------------ the official checkpoint layout
# Transcribed by hand from the official definition (github ZrrSkywalker/Point-M2AE,
# models/Point_M2AE.py `Point_M2AE` + `H_Encoder`, models/modules.py `Token_Embed`, `Block`,
# `Attention`, `Mlp`, `Decoder_Block`, `PointNetFeaturePropagation`; cfgs/pre-training/point-m2ae.yaml:
# group_sizes [16, 8, 8], num_groups [512, 256, 64], encoder_dims [96, 192, 384], depths [5, 5, 5],
# decoder_dims [384, 192], decoder_depths [1, 1], decoder_up_blocks [1, 1]), NOT from partlift's code.


def _bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
            f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}


def _block(prefix: str, d: int) -> dict[str, tuple[int, ...]]:
    # Block: norm1, attn (qkv without bias, proj), norm2, mlp (fc1 d->4d, fc2 4d->d)
    return {f"{prefix}.norm1.weight": (d,), f"{prefix}.norm1.bias": (d,),
            f"{prefix}.attn.qkv.weight": (3 * d, d),
            f"{prefix}.attn.proj.weight": (d, d), f"{prefix}.attn.proj.bias": (d,),
            f"{prefix}.norm2.weight": (d,), f"{prefix}.norm2.bias": (d,),
            f"{prefix}.mlp.fc1.weight": (4 * d, d), f"{prefix}.mlp.fc1.bias": (4 * d,),
            f"{prefix}.mlp.fc2.weight": (d, 4 * d), f"{prefix}.mlp.fc2.bias": (d,)}


def official_encoder_keys() -> dict[str, tuple[int, ...]]:
    """base_model keys of the hierarchical encoder ``h_encoder`` with their shapes."""
    keys: dict[str, tuple[int, ...]] = {}
    te = "h_encoder.token_embed"
    # Token_Embed(in_c=3, out_c=96): Conv1d 3->128, BN, ReLU, Conv1d 128->256 | Conv1d 512->512, BN, ReLU, Conv1d 512->96
    keys.update({f"{te}.0.first_conv.0.weight": (128, 3, 1), f"{te}.0.first_conv.0.bias": (128,),
                 **_bn(f"{te}.0.first_conv.1", 128),
                 f"{te}.0.first_conv.3.weight": (256, 128, 1), f"{te}.0.first_conv.3.bias": (256,),
                 f"{te}.0.second_conv.0.weight": (512, 512, 1), f"{te}.0.second_conv.0.bias": (512,),
                 **_bn(f"{te}.0.second_conv.1", 512),
                 f"{te}.0.second_conv.3.weight": (96, 512, 1), f"{te}.0.second_conv.3.bias": (96,)})
    # Token_Embed(in_c=96, out_c=192): Conv1d 96->96, BN, ReLU, 96->96 | 192->192, BN, ReLU, 192->192
    keys.update({f"{te}.1.first_conv.0.weight": (96, 96, 1), f"{te}.1.first_conv.0.bias": (96,),
                 **_bn(f"{te}.1.first_conv.1", 96),
                 f"{te}.1.first_conv.3.weight": (96, 96, 1), f"{te}.1.first_conv.3.bias": (96,),
                 f"{te}.1.second_conv.0.weight": (192, 192, 1), f"{te}.1.second_conv.0.bias": (192,),
                 **_bn(f"{te}.1.second_conv.1", 192),
                 f"{te}.1.second_conv.3.weight": (192, 192, 1), f"{te}.1.second_conv.3.bias": (192,)})
    # Token_Embed(in_c=192, out_c=384): 192->192, BN, ReLU, 192->192 | 384->384, BN, ReLU, 384->384
    keys.update({f"{te}.2.first_conv.0.weight": (192, 192, 1), f"{te}.2.first_conv.0.bias": (192,),
                 **_bn(f"{te}.2.first_conv.1", 192),
                 f"{te}.2.first_conv.3.weight": (192, 192, 1), f"{te}.2.first_conv.3.bias": (192,),
                 f"{te}.2.second_conv.0.weight": (384, 384, 1), f"{te}.2.second_conv.0.bias": (384,),
                 **_bn(f"{te}.2.second_conv.1", 384),
                 f"{te}.2.second_conv.3.weight": (384, 384, 1), f"{te}.2.second_conv.3.bias": (384,)})
    for i, d in enumerate((96, 192, 384)):
        # encoder_pos_embeds[i] = Sequential(Linear(3, d), GELU(), Linear(d, d))
        keys.update({f"h_encoder.encoder_pos_embeds.{i}.0.weight": (d, 3), f"h_encoder.encoder_pos_embeds.{i}.0.bias": (d,),
                     f"h_encoder.encoder_pos_embeds.{i}.2.weight": (d, d), f"h_encoder.encoder_pos_embeds.{i}.2.bias": (d,)})
        for j in range(5):  # Encoder_Block(depth=5).blocks
            keys.update(_block(f"h_encoder.encoder_blocks.{i}.blocks.{j}", d))
        keys.update({f"h_encoder.encoder_norms.{i}.weight": (d,), f"h_encoder.encoder_norms.{i}.bias": (d,)})
    return keys


def official_decoder_keys() -> dict[str, tuple[int, ...]]:
    """base_model keys of the pre-training model outside the encoder (skipped by the loader)."""
    keys: dict[str, tuple[int, ...]] = {"mask_token": (1, 384)}
    for i, d in enumerate((384, 192)):
        keys.update(_block(f"h_decoder.{i}.blocks.0", d))
        keys.update({f"decoder_pos_embeds.{i}.0.weight": (d, 3), f"decoder_pos_embeds.{i}.0.bias": (d,),
                     f"decoder_pos_embeds.{i}.2.weight": (d, d), f"decoder_pos_embeds.{i}.2.bias": (d,)})
    tp = "token_prop.0"  # PointNetFeaturePropagation(384 + 192, 192, blocks=1)
    keys.update({f"{tp}.fuse.net.0.weight": (192, 576, 1), f"{tp}.fuse.net.0.bias": (192,), **_bn(f"{tp}.fuse.net.1", 192),
                 f"{tp}.extraction.operation.0.net1.0.weight": (192, 192, 1),
                 f"{tp}.extraction.operation.0.net1.0.bias": (192,), **_bn(f"{tp}.extraction.operation.0.net1.1", 192),
                 f"{tp}.extraction.operation.0.net2.0.weight": (192, 192, 1),
                 f"{tp}.extraction.operation.0.net2.0.bias": (192,), **_bn(f"{tp}.extraction.operation.0.net2.1", 192),
                 "decoder_norm.weight": (192,), "decoder_norm.bias": (192,),
                 "rec_head.weight": (48, 192, 1), "rec_head.bias": (48,)})
    return keys


def fake_official_state(seed: int = 0, prefix: str = "") -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in {**official_encoder_keys(), **official_decoder_keys()}.items():
        if k.endswith("num_batches_tracked"):
            out[prefix + k] = torch.tensor(1234, dtype=torch.long)
        elif k.endswith("running_var"):
            out[prefix + k] = torch.rand(shape, generator=g) + 0.5
        else:
            out[prefix + k] = torch.randn(shape, generator=g) * 0.05
    return out


def save_official(path, state: dict[str, torch.Tensor]) -> None:
    """The official file layout (tools/builder.py save_checkpoint)."""
    torch.save({"base_model": state, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-6, "params": [0]}]},
                "epoch": 300, "metrics": {"acc": 0.0}, "best_metrics": {"acc": 0.0}}, path)


@pytest.fixture(scope="module")
def official_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m2ae") / "point_m2ae_pre-train.pth"
    save_official(path, fake_official_state())
    return path


def test_official_key_list_matches_the_encoder_exactly():
    ours = {k: tuple(v.shape) for k, v in build_point_m2ae(seed=0).state_dict().items()}
    assert len(official_encoder_keys()) == 237
    assert ours == official_encoder_keys()


def test_official_checkpoint_loads_strictly(official_file):
    net = load_point_m2ae(official_file)
    fake = fake_official_state()
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, fake[k], rtol=0, atol=0)
    assert not net.training


def test_dataparallel_prefix_is_stripped(tmp_path):
    path = tmp_path / "dp.pth"
    save_official(path, fake_official_state(prefix="module."))
    tensors, meta = read_encoder_state(path)
    assert meta["kind"] == "official" and meta["epoch"] == 300
    assert set(tensors) == set(official_encoder_keys())


def _one_line_error(state, tmp_path, match):
    path = tmp_path / "bad.pth"
    save_official(path, state)
    with pytest.raises(CheckpointError, match=match) as exc:
        load_point_m2ae(path)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def test_missing_key_is_named(tmp_path):
    state = fake_official_state()
    del state["h_encoder.encoder_blocks.2.blocks.4.attn.qkv.weight"]
    msg = _one_line_error(state, tmp_path, r"1 missing \[h_encoder\.encoder_blocks\.2\.blocks\.4\.attn\.qkv\.weight\]")
    assert "unexpected" not in msg


def test_extra_key_is_named(tmp_path):
    state = fake_official_state()
    state["h_encoder.encoder_blocks.0.blocks.0.attn.qkv.bias"] = torch.zeros(288)
    _one_line_error(state, tmp_path, r"1 unexpected \[h_encoder\.encoder_blocks\.0\.blocks\.0\.attn\.qkv\.bias\]")
    state = fake_official_state()
    state["cls_head_finetune.0.weight"] = torch.zeros(256, 384)  # a fine-tuned model, not pre-training
    _one_line_error(state, tmp_path, r"unexpected \[cls_head_finetune\.0\.weight\]")


def test_wrong_shape_is_named(tmp_path):
    state = fake_official_state()
    state["h_encoder.token_embed.0.second_conv.3.weight"] = torch.zeros(128, 512, 1)
    _one_line_error(state, tmp_path,
                    r"wrong shape \[h_encoder\.token_embed\.0\.second_conv\.3\.weight \(128, 512, 1\) != \(96, 512, 1\)\]")


def test_num_batches_tracked_is_optional_and_listing_is_capped():
    state = {k: v for k, v in fake_official_state().items() if not k.endswith("num_batches_tracked")}
    assert len(check_encoder_state(state)) == 237 - 6  # 6 BatchNorms
    del state["h_encoder.encoder_norms.0.weight"], state["h_encoder.encoder_norms.0.bias"]
    for i in range(5):
        del state[f"h_encoder.encoder_blocks.1.blocks.{i}.norm1.bias"]
    with pytest.raises(CheckpointError, match=r"7 missing \[.*, \+3 more\]"):
        check_encoder_state(state)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_point_m2ae(tmp_path / "nope.pth")
    torch.save({"model": {}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="no 'base_model'"):
        load_point_m2ae(tmp_path / "other.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="weights-only"):
        load_point_m2ae(tmp_path / "junk.pth")


def test_safetensors_roundtrip(tmp_path):
    net = build_point_m2ae(seed=3)
    path = save_point_m2ae(tmp_path / "enc.safetensors", net, {"corpus": "synthetic:all:2"})
    back = load_point_m2ae(path)
    for (k, v), (k2, v2) in zip(net.state_dict().items(), back.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    assert read_encoder_state(path)[1]["corpus"] == "synthetic:all:2"
    half = save_point_m2ae(tmp_path / "half.safetensors", net, dtype="float16")
    assert half.stat().st_size < 30e6 < path.stat().st_size  # the shipping limit of issue 16
    for k, v in load_point_m2ae(half).state_dict().items():
        ref = net.state_dict()[k]
        assert v.dtype == ref.dtype and torch.equal(v, ref.half().to(ref.dtype) if ref.is_floating_point() else ref), k
    with pytest.raises(InputError, match="dtype"):
        save_point_m2ae(tmp_path / "x.safetensors", net, dtype="bfloat16")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="point-m2ae-encoder"):
        load_point_m2ae(tmp_path / "foreign.safetensors")


# ------------------------------------------------------------------ geometry by hand


def test_fps_hand_cases():
    # start at index 0; next = farthest, ties to the lowest index
    x = torch.tensor([[[0.0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0.9, 0]]])
    assert farthest_point_sample(x, 3)[0].tolist() == [0, 1, 2]
    # a point with |p|^2 <= 1e-3 is never picked after the first (the CUDA kernel's rule)
    x = torch.tensor([[[1.0, 0, 0], [0.02, 0, 0], [0.9, 0, 0]]])
    assert farthest_point_sample(x, 2)[0].tolist() == [0, 2]
    # ... but index 0 is always the first pick, wherever it lies
    x = torch.tensor([[[0.0, 0, 0], [0.5, 0, 0], [1.0, 0, 0]]])
    assert farthest_point_sample(x, 3)[0].tolist() == [0, 2, 1]
    assert farthest_point_sample(x, 10).shape == (1, 3)  # clipped to N


def test_knn_orders_by_distance_then_index():
    ref = torch.tensor([[[0.0, 0, 0], [2, 0, 0], [-1, 0, 0], [1, 0, 0], [5, 0, 0]]])
    q = torch.tensor([[[0.0, 0, 0], [1.5, 0, 0]]])
    d2, idx = knn(q, ref, 3)
    assert idx[0].tolist() == [[0, 2, 3], [1, 3, 0]]  # 2 and 3 tie at distance 1 from q0: index order
    torch.testing.assert_close(d2[0], torch.tensor([[0.0, 1, 1], [0.25, 0.25, 2.25]]))
    assert knn(q, ref, 2)[1][0].tolist() == [[0, 2], [1, 3]]  # a tie at the k-th distance: lowest index kept


def test_three_nn_interpolation_hand_case():
    centers = torch.tensor([[[0.0, 0, 0], [2, 0, 0], [1, 2, 0], [5, 0, 0]]])
    feats = torch.tensor([[[0.0], [1.0], [10.0], [100.0]]])
    x = torch.tensor([[[1.0, 0, 0], [5, 0, 0]]])
    out = three_nn_interpolate(x, centers, feats)
    # point (1,0,0): d² = 1, 1, 4 (the 4th centre, d² 16, is out) -> w ∝ 1, 1, 1/4
    assert out[0, 0, 0].item() == pytest.approx((0 + 1 + 10 / 4) / 2.25, rel=1e-6)
    # a point on a centre takes (almost exactly) that centre's feature
    assert out[0, 1, 0].item() == pytest.approx(100.0, rel=1e-6)
    one = three_nn_interpolate(x, centers[:, :1], feats[:, :1])
    assert one.shape == (1, 2, 1) and torch.all(one == 0)


def test_local_attention_mask_hand_case():
    c = torch.tensor([[[0.0, 0, 0], [0.3, 0, 0], [0.32, 0, 0], [1.0, 0, 0]]])
    m = local_attention_mask(c, 0.32)
    far = (m[0] == ATTENTION_MASK_VALUE).tolist()
    assert far == [[False, False, True, True],   # 0.32 >= radius: masked (official `dist >= radius`)
                   [False, False, False, True],
                   [True, False, False, True],
                   [True, True, True, False]]
    assert torch.all(m[0][~torch.tensor(far)] == 0)
    # with the mask, token 3 (alone in its radius) ignores every other token
    torch.manual_seed(0)
    attn = Attention(12, 6).eval()
    x = torch.randn(1, 4, 12)
    y = x.clone()
    y[0, :3] = torch.randn(3, 12)
    with torch.no_grad():
        a, b = attn(x, m), attn(y, m)
        torch.testing.assert_close(a[0, 3], b[0, 3])
        assert not torch.allclose(attn(x)[0, 3], attn(y)[0, 3])


def _official_token_embed(te, point_groups):
    """Official Token_Embed.forward, verbatim in structure: 1-wide Conv1d on (BG, C, n)."""
    bs, g, n, c = point_groups.shape
    feature = te.first_conv(point_groups.reshape(bs * g, n, c).transpose(2, 1))
    feature_global = torch.max(feature, dim=2, keepdim=True)[0]
    feature = torch.cat([feature_global.expand(-1, -1, n), feature], dim=1)
    feature = te.second_conv(feature)
    return torch.max(feature, dim=2, keepdim=False)[0].reshape(bs, g, te.out_c)


@pytest.mark.parametrize("stage", [0, 1, 2])
@pytest.mark.parametrize("train", [False, True])
def test_token_embed_matches_the_convolution_form(stage, train):
    import copy

    net = build_point_m2ae(seed=2)
    te = net.h_encoder.token_embed[stage]
    for m in te.modules():  # non-trivial BatchNorm statistics and affine
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 2), m.weight.data.uniform_(0.5, 2)
    ref = copy.deepcopy(te)
    te.train(train), ref.train(train)
    x = torch.randn(2, 5, 8, te.in_c, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(te(x), _official_token_embed(ref, x), atol=1e-5, rtol=1e-4)
    for a, b in zip(te.buffers(), ref.buffers(), strict=True):  # same running-statistics updates
        torch.testing.assert_close(a, b)


# ------------------------------------------------------------------ the encoder


def _cloud(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g) * 2 - 1
    return (x / x.norm(dim=-1).max())[None]


@pytest.fixture(scope="module")
def encoder():
    return build_point_m2ae(seed=0)


def test_point_features_shape_and_layout(encoder):
    x = torch.cat([_cloud(2048, 1), _cloud(2048, 2)])
    with torch.no_grad():
        f = encoder.point_features(x)
    assert f.shape == (2, 2048, 681) == (2, 2048, POINT_FEATURE_DIM)
    for start in (0, 99, 294):  # [xyz, f1 (96)] [xyz, f2 (192)] [xyz, f3 (384)]
        torch.testing.assert_close(f[..., start:start + 3], x)
    out = encoder(x)
    assert [t.shape for t in out.tokens] == [(2, 512, 96), (2, 256, 192), (2, 64, 384)]
    assert [g.shape for g in out.groups] == [(2, 512, 16), (2, 256, 8), (2, 64, 8)]
    # each sample of the batch is encoded on its own
    with torch.no_grad():
        torch.testing.assert_close(encoder.point_features(x[1:]), f[1:], atol=1e-5, rtol=1e-4)


def _official_point_features(net, pts):
    """The official forward transcribed (H_Encoder_seg + Point_M2AE_SEG(is_learned=False)): flat
    batch indices, Conv1d token embedders, bool mask * -100000, square_distance + sort for the
    3-NN weights. Reuses only the FPS (tested by hand above) and the parameters."""
    enc = net.h_encoder
    neighborhoods, centers, idxs = [], [], []
    xyz = pts
    for n_group, k in ((512, 16), (256, 8), (64, 8)):
        b, n, _ = xyz.shape
        center = torch.stack([xyz[i, farthest_point_sample(xyz[i:i + 1], n_group)[0]] for i in range(b)])
        idx = torch.cdist(center, xyz).argsort(dim=-1, stable=True)[..., :k]
        idx = (idx + torch.arange(b).view(-1, 1, 1) * n).view(-1)
        nb = xyz.reshape(b * n, -1)[idx, :].view(b, n_group, k, 3) - center.unsqueeze(2)
        neighborhoods.append(nb), centers.append(center), idxs.append(idx)
        xyz = center
    x_vis_list: list[torch.Tensor] = []
    x_vis = pts
    for i in range(3):
        if i == 0:
            tokens = _official_token_embed(enc.token_embed[0], neighborhoods[0])
        else:
            b, g1, _ = x_vis.shape
            b, g2, k2, _ = neighborhoods[i].shape
            tokens = _official_token_embed(enc.token_embed[i], x_vis.reshape(b * g1, -1)[idxs[i], :].reshape(b, g2, k2, -1))
        mask = (torch.cdist(centers[i], centers[i], p=2) >= (0.32, 0.64, 1.28)[i]) * -100000.0
        pos = enc.encoder_pos_embeds[i](centers[i])
        x_vis = tokens
        for block in enc.encoder_blocks[i].blocks:
            x_vis = block(x_vis + pos, mask)
        x_vis_list.append(x_vis)
    feats = []
    for i in range(3):
        f = enc.encoder_norms[i](x_vis_list[i])
        d = -2 * pts @ centers[i].transpose(1, 2) + (pts ** 2).sum(-1)[..., None] + (centers[i] ** 2).sum(-1)[:, None]
        d, idx = d.sort(dim=-1)
        d, idx = d[..., :3], idx[..., :3]
        w = 1.0 / (d + 1e-8)
        w = w / w.sum(-1, keepdim=True)
        interp = (torch.stack([f[b][idx[b]] for b in range(len(f))]) * w[..., None]).sum(2)
        feats.append(torch.cat([pts, interp], dim=-1))
    return torch.cat(feats, dim=-1)


def test_matches_the_official_forward_transcribed(encoder):
    x = torch.cat([_cloud(1024, 8), _cloud(1024, 9)])
    with torch.no_grad():
        torch.testing.assert_close(encoder.point_features(x), _official_point_features(encoder, x), atol=2e-4, rtol=1e-3)


def test_deterministic_and_seeded():
    x = _cloud(600, 3)
    a, b = build_point_m2ae(seed=5), build_point_m2ae(seed=5)
    with torch.no_grad():
        fa, fb = a.point_features(x), b.point_features(x)
        assert torch.equal(fa, fb) and torch.equal(fa, a.point_features(x))
        assert not torch.equal(fa, build_point_m2ae(seed=6).point_features(x))


def test_permutation_keeping_the_first_point(encoder):
    """FPS starts at index 0, so the features are permutation-equivariant for every reordering
    that keeps point 0 first (ties aside); moving point 0 changes the centres."""
    x = _cloud(1024, 4)
    perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(1023, generator=torch.Generator().manual_seed(0))])
    with torch.no_grad():
        f = encoder.point_features(x)
        torch.testing.assert_close(encoder.point_features(x[:, perm]), f[:, perm], atol=1e-5, rtol=1e-4)
        moved = torch.roll(torch.arange(1024), 1)
        assert not torch.allclose(encoder.point_features(x[:, moved]), f[:, moved], atol=1e-3)


def test_small_clouds_and_bad_input(encoder):
    with torch.no_grad():
        assert encoder.point_features(_cloud(40, 5)).shape == (1, 40, 681)
    with pytest.raises(InputError, match=r"\(B, N, 3\)"):
        encoder(torch.zeros(10, 3))


def test_drop_path_only_in_training(encoder):
    x = _cloud(300, 6)
    net = build_point_m2ae(seed=1)
    drops = [m for m in net.modules() if isinstance(m, DropPath)]
    assert [m.p for m in drops] == pytest.approx([0.1 * i / 14 for i in range(15)])  # linear 0 -> 0.1
    with torch.no_grad():
        ref = net.point_features(x)
        for m in drops:  # drop-path alone in training mode (BatchNorm would update its statistics)
            m.train()
        torch.manual_seed(0)
        assert not torch.allclose(net.point_features(x), ref)
        net.eval()
        torch.testing.assert_close(net.point_features(x), ref)


# ------------------------------------------------------------------ the point-m2ae backbone


def test_backbone_frozen_in_eval_mode(official_file):
    from partlift.distill.backbones import build_backbone

    bb = build_backbone("point-m2ae", 6, encoder=str(official_file))
    assert bb.out_dim == 681 + 3
    bb.train()
    assert bb.training and not bb.encoder.training
    assert not any(p.requires_grad for p in bb.parameters())
    x = _cloud(600, 7)
    feats = torch.cat([x, torch.rand_like(x)], dim=-1)
    out = bb(x, feats)
    assert out.shape == (1, 600, 684) and not out.requires_grad
    torch.testing.assert_close(out[..., 681:], feats[..., 3:])
    with pytest.raises(InputError, match="takes no encoder"):
        build_backbone("pointnet", 3, encoder=str(official_file))


def test_random_encoder_warns(caplog):
    from partlift.distill.backbones import build_backbone

    with caplog.at_level(logging.WARNING, logger="partlift.distill.backbones"):
        build_backbone("point-m2ae", 3)
    assert "RANDOM" in caplog.text


def _chair_knowledge(cfg, n_points: int):
    """A generated chair of ``n_points``, its normalised shape and its oracle-box knowledge."""
    from partlift.config import render_preset
    from partlift.data.synthetic import generate
    from partlift.distill.knowledge import build_knowledge, render_for_teacher
    from partlift.teachers.registry import build_teacher

    shape = generate("Chair", 1, n_points=n_points)
    norm, views = render_for_teacher(shape, render_preset("tiny"))
    preds = build_teacher("simulated:oracle", seed=0, mode="box").predict(views, shape.part_names, norm)
    return shape, norm, build_knowledge(norm, views, preds, cfg, region="box")


def test_tta_with_point_m2ae_keeps_the_encoder_frozen(official_file):
    from partlift.distill.align import align
    from partlift.distill.config import distill_preset
    from partlift.distill.student import predict_shape

    cfg = distill_preset("point-m2ae").replace(
        encoder=str(official_file), head_hidden=64, n_points=512, knowledge_points=512,
        tta_epochs=3, tta_steps_per_epoch=1, plateau_min_epoch=1, plateau_window=2,
    )
    shape, norm, know = _chair_knowledge(cfg, 1500)
    before = load_point_m2ae(official_file).state_dict()
    res = align([know], shape.part_names, cfg, regime="tta")
    assert len(res.log) == 3 and all(np.isfinite(r["loss"]) for r in res.log)
    for k, v in res.student.backbone.encoder.state_dict().items():
        assert torch.equal(v, before[k]), k  # frozen: BN running stats included
    labels, probs = predict_shape(res.student, norm.xyz, device="cpu")
    assert labels.shape == (len(norm.xyz),) and probs.shape == (len(norm.xyz), len(shape.part_names))


def test_tta_fine_tunes_the_encoder_at_its_own_rate(official_file):
    """encoder_lr_ratio > 0: the encoder's weights move (its BN running statistics do not: eval
    mode), the optimiser scales their rate; 0 keeps them frozen (the test above)."""
    from partlift.distill.align import align, optimizer
    from partlift.distill.config import distill_preset
    from partlift.distill.student import build_student

    cfg = distill_preset("point-m2ae").replace(
        encoder=str(official_file), encoder_lr_ratio=0.1, head_hidden=32, n_points=256, knowledge_points=256,
        tta_epochs=2, tta_steps_per_epoch=1, plateau_min_epoch=1, plateau_window=2,
    )
    student = build_student(2, cfg)
    assert not student.backbone.frozen and all(p.requires_grad for p in student.backbone.parameters())
    opt = optimizer(student, cfg)
    n_enc = sum(1 for _ in student.backbone.parameters())
    assert sorted(set(opt.scales)) == [0.1, 1.0] and opt.scales.count(0.1) == n_enc
    shape, _, know = _chair_knowledge(cfg, 800)
    before = load_point_m2ae(official_file).state_dict()
    res = align([know], shape.part_names, cfg, regime="tta")
    after = res.student.backbone.encoder.state_dict()
    moved = [k for k, v in after.items() if not torch.equal(v, before[k])]
    assert moved and not any(k.endswith(("running_mean", "running_var")) for k in moved)
    with pytest.raises(InputError, match="feature_cache"):
        cfg.replace(feature_cache=4)
    with pytest.raises(InputError, match="encoder_lr_ratio"):
        cfg.replace(encoder_lr_ratio=-1.0)
    with pytest.raises(InputError, match="needs a pretrained backbone"):
        distill_preset("default").replace(encoder_lr_ratio=0.1)
    with pytest.raises(InputError, match="always trains"):
        from partlift.distill.backbones import build_backbone

        build_backbone("pointnet", 3, finetune=True)


def test_packaged_encoder_keyword(tmp_path, monkeypatch):
    """encoder="packaged" loads the shipped file (here: one of the test's own); without a shipped
    file it fails with one line saying how to make one."""
    from partlift.distill import backbones
    from partlift.distill.point_m2ae import build_point_m2ae
    from partlift.distill.point_m2ae_io import save_point_m2ae
    from partlift.errors import UnavailableError

    torch.manual_seed(5)
    enc = build_point_m2ae()
    path = save_point_m2ae(tmp_path / "enc.safetensors", enc, {"note": "test"})
    monkeypatch.setattr(backbones, "packaged_encoder", lambda: path)
    bb = backbones.build_point_m2ae_backbone(3, encoder=backbones.PACKAGED_ENCODER)
    for k, v in enc.state_dict().items():
        torch.testing.assert_close(bb.encoder.state_dict()[k], v, rtol=0, atol=0)
    monkeypatch.undo()
    monkeypatch.setattr(backbones, "PACKAGED_ENCODER_FILE", "no-such-encoder.safetensors")
    with pytest.raises(UnavailableError, match="partlift pretrain"):
        backbones.packaged_encoder()
