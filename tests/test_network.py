"""Network, loss and config of the LA2DS alignment model (models/): shapes, masks, ablations."""

from __future__ import annotations

import pydantic
import pytest
import torch

from models.config import ModelConfig
from models.loss import alignment_loss, pairwise_logits, similarity_matrix
from models.network import AlignmentNet, sinusoidal_encoding_2d

K, L, S = 5, 4, 30


def tiny(**overrides) -> ModelConfig:
    base = dict(
        num_joints=K, num_limbs=L, dim=16, heads=2, spatial_layers=1, temporal_layers=1,
        cross_layers=1, mlp_dim=32, max_frames=64, projection_dim=8, projection_hidden=16,
    )
    base.update(overrides)
    return ModelConfig(**base)


def heatmaps(b: int, t: int, c: int = K + L, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, c, S, S, generator=g)


def keypoints(b: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    kp = torch.rand(b, t, K, 3, generator=g)
    kp[..., :2] *= S - 1
    return kp


def inputs(cfg: ModelConfig, b: int, t: int, seed: int = 0) -> torch.Tensor:
    return heatmaps(b, t, seed=seed) if cfg.model == "la2ds" else keypoints(b, t, seed=seed)


def lengths_mask(lengths: list[int], t: int) -> torch.Tensor:
    return torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]


# --- config -------------------------------------------------------------------------------------


def test_config_defaults_and_validation():
    cfg = ModelConfig()
    assert (cfg.dim, cfg.heads, cfg.num_patches, cfg.out_dim, cfg.temperature) == (192, 3, 9, 128, 0.1)
    assert cfg.in_channels == cfg.num_joints + cfg.num_limbs
    with pytest.raises(pydantic.ValidationError):
        ModelConfig(dim=190, heads=3)  # dim % heads
    with pytest.raises(pydantic.ValidationError):
        ModelConfig(patch_size=7)  # 30 % 7
    with pytest.raises(pydantic.ValidationError):
        ModelConfig(unknown=1)  # extra=forbid
    with pytest.raises(pydantic.ValidationError):
        ModelConfig(channels="limbs", num_limbs=0)
    with pytest.raises(pydantic.ValidationError):
        cfg.dim = 64  # frozen
    assert ModelConfig.model_validate(cfg.model_dump()) == cfg


@pytest.mark.parametrize(
    ("channels", "expected"), [("joints+limbs", K + L), ("joints", K), ("limbs", L)]
)
def test_channel_subsets(channels, expected):
    cfg = tiny(channels=channels)
    assert cfg.in_channels == expected
    model = AlignmentNet(cfg).eval()
    assert model.encoder.patch_embed.in_features == expected * 100
    full = heatmaps(2, 6)
    out_full = model.embed(full)
    assert out_full.shape == (2, 6, cfg.dim)
    # the selected channels alone give the same result; the others do not matter
    torch.testing.assert_close(model.embed(full[:, :, cfg.channel_slice].contiguous()), out_full)
    if channels != "joints+limbs":
        other = full.clone()
        keep = torch.zeros(K + L, dtype=torch.bool)
        keep[cfg.channel_slice] = True
        other[:, :, ~keep] = torch.rand_like(other[:, :, ~keep])
        torch.testing.assert_close(model.embed(other), out_full)
    with pytest.raises(ValueError, match="channels"):
        model.embed(heatmaps(1, 3, c=K + L + 1))


# --- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["la2ds", "coords"])
def test_output_shapes(kind):
    cfg = tiny(model=kind)
    model = AlignmentNet(cfg)
    x1, x2 = inputs(cfg, 3, 7, seed=1), inputs(cfg, 3, 5, seed=2)
    m1, m2 = lengths_mask([7, 4, 2], 7), lengths_mask([5, 5, 3], 5)
    z1, z2 = model(x1, m1, x2, m2)
    assert z1.shape == (3, 7, cfg.projection_dim) and z2.shape == (3, 5, cfg.projection_dim)
    assert torch.isfinite(z1).all() and torch.isfinite(z2).all()
    assert (z1[~m1] == 0).all() and (z2[~m2] == 0).all()
    z1n, z2n = model(x1, None, x2, None)  # masks optional
    assert z1n.shape == z1.shape and z2n.shape == z2.shape
    emb = model.eval().embed(x1, m1)
    assert emb.shape == (3, 7, cfg.dim) and not emb.requires_grad
    assert model.embed(x1, m1, where="projection").shape == (3, 7, cfg.projection_dim)


def test_wrong_inputs_are_reported():
    model = AlignmentNet(tiny())
    with pytest.raises(ValueError, match="30x30"):
        model.embed(torch.rand(1, 3, K + L, 20, 20))
    with pytest.raises(ValueError, match="max_frames"):
        model.embed(heatmaps(1, 65))
    coords = AlignmentNet(tiny(model="coords"))
    with pytest.raises(ValueError, match="keypoints"):
        coords.embed(torch.rand(1, 3, K + 1, 3))


# --- padding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["la2ds", "coords"])
@pytest.mark.parametrize("learned_position", [True, False])
def test_padding_invariance(kind, learned_position):
    cfg = tiny(model=kind, learned_position=learned_position)
    torch.manual_seed(0)
    model = AlignmentNet(cfg).eval()
    x1, x2 = inputs(cfg, 2, 6, seed=3), inputs(cfg, 2, 4, seed=4)
    m1, m2 = lengths_mask([6, 3], 6), lengths_mask([4, 2], 4)
    pad = 5
    x1p = torch.cat([x1, inputs(cfg, 2, pad, seed=5) * 7.0], dim=1)  # garbage in the padding
    x2p = torch.cat([x2, inputs(cfg, 2, pad, seed=6) * 7.0], dim=1)
    m1p = torch.cat([m1, torch.zeros(2, pad, dtype=torch.bool)], dim=1)
    m2p = torch.cat([m2, torch.zeros(2, pad, dtype=torch.bool)], dim=1)

    e, ep = model.embed(x1, m1), model.embed(x1p, m1p)
    torch.testing.assert_close(ep[:, :6][m1], e[m1], atol=1e-5, rtol=1e-5)
    assert (ep[:, 6:] == 0).all()

    with torch.no_grad():
        z1, z2 = model(x1, m1, x2, m2)
        z1p, z2p = model(x1p, m1p, x2p, m2p)
    torch.testing.assert_close(z1p[:, :6][m1], z1[m1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(z2p[:, :4][m2], z2[m2], atol=1e-5, rtol=1e-5)

    # a sequence alone gives the same embeddings as inside a padded batch
    alone = model.embed(x1[1:2, :3])
    torch.testing.assert_close(alone[0], e[1, :3], atol=1e-5, rtol=1e-5)


def test_fully_padded_sequence_stays_finite():
    model = AlignmentNet(tiny())
    x1, x2 = heatmaps(2, 4), heatmaps(2, 4, seed=1)
    m = lengths_mask([4, 0], 4)
    z1, z2 = model(x1, m, x2, lengths_mask([4, 4], 4))
    assert torch.isfinite(z1).all() and torch.isfinite(z2).all()
    loss, _ = alignment_loss(z1, z2, torch.zeros(2, 4), m, None)
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


# --- ablations and gradients --------------------------------------------------------------------

ABLATIONS = [
    {},
    {"spatial_transformer": False},
    {"temporal_transformer": False},
    {"cross_attention": False},
    {"projection_head": False},
    {"learned_position": False},
    {"channels": "joints"},
    {"channels": "limbs"},
    {"model": "coords"},
    {"model": "coords", "cross_attention": False, "learned_position": False},
    {"model": "coords", "temporal_transformer": False, "projection_head": False},
]


@pytest.mark.parametrize("overrides", ABLATIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "full")
def test_ablations_forward_backward(overrides):
    cfg = tiny(**overrides)
    torch.manual_seed(0)
    model = AlignmentNet(cfg).train()
    x1, x2 = inputs(cfg, 2, 6, seed=7), inputs(cfg, 2, 5, seed=8)
    m1, m2 = lengths_mask([6, 4], 6), lengths_mask([5, 3], 5)
    z1, z2 = model(x1, m1, x2, m2)
    assert z1.shape[-1] == cfg.out_dim == (cfg.projection_dim if cfg.projection_head else cfg.dim)
    gt = torch.tensor([[0, 1, 2, 4, 5], [0, 1, 3, 0, 0]])
    loss, _ = alignment_loss(z1, z2, gt, m1, m2, cfg.temperature)
    assert torch.isfinite(loss)
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    if not cfg.cross_attention:
        assert model.cross is None
    if not cfg.projection_head:
        assert model.head is None
    if not cfg.learned_position:
        assert not any("pos" in name for name, _ in model.named_parameters())


def test_default_model_gradients_and_parameter_count():
    cfg = ModelConfig(num_joints=13, num_limbs=12)  # Penn Action layout size
    torch.manual_seed(0)
    model = AlignmentNet(cfg).train()
    n = model.count_parameters()
    coords_n = AlignmentNet(cfg.model_copy(update={"model": "coords"})).count_parameters()
    print(f"\nLA2DS default parameters: {n:,} (coords baseline: {coords_n:,})")
    assert 3_000_000 <= n <= 6_000_000
    assert coords_n < n
    x1, x2 = heatmaps(2, 5, c=25), heatmaps(2, 4, c=25, seed=1)
    m1, m2 = lengths_mask([5, 3], 5), lengths_mask([4, 2], 4)
    z1, z2 = model(x1, m1, x2, m2)
    assert z1.shape == (2, 5, 128)
    gt = torch.tensor([[0, 2, 3, 4], [0, 2, 0, 0]])
    loss, _ = alignment_loss(z1, z2, gt, m1, m2)
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing}"
    assert sum(p.grad.abs().sum() for p in model.parameters()) > 0


# --- loss ---------------------------------------------------------------------------------------


def one_hot_ish(m: int, p: int = 16, scale: float = 1.0) -> torch.Tensor:
    z = torch.eye(m, p) * scale
    return z + 0.01 * torch.randn(m, p, generator=torch.Generator().manual_seed(0))


def test_loss_near_zero_for_perfect_correspondence():
    m = 12
    z = one_hot_ish(m)[None]
    gt = torch.tensor([[0, 2, 3, 5, 8, 9, 11]])
    z_aug = z[:, gt[0]]
    loss, i_pred = alignment_loss(z, z_aug, gt, temperature=0.1)
    assert loss.item() < 1e-4
    torch.testing.assert_close(i_pred, gt.float(), atol=1e-2, rtol=0)
    # reversed correspondence: same z_aug, labels mirrored -> large loss
    loss_rev, _ = alignment_loss(z, z_aug, (m - 1) - gt, temperature=0.1)
    assert loss_rev.item() > 10.0
    # identity correspondence: gradient is finite even where z_i == z'_j exactly
    z_req = z.clone().requires_grad_(True)
    loss_id, _ = alignment_loss(z_req, z_req, torch.arange(m)[None])
    loss_id.backward()
    assert loss_id.item() < 1e-4 and torch.isfinite(z_req.grad).all()


def test_loss_formula_matches_reference():
    torch.manual_seed(1)
    z, z_aug = torch.randn(7, 4), torch.randn(5, 4)
    gt = torch.tensor([0, 1, 3, 4, 6])
    d = torch.cdist(z, z_aug)  # (M, N)
    omega = torch.softmax(-d / 0.5, dim=0)
    i_pred = (omega * torch.arange(7.0)[:, None]).sum(0)
    ref = ((i_pred - gt) ** 2).mean()
    loss, got = alignment_loss(z, z_aug, gt, temperature=0.5)  # unbatched inputs
    torch.testing.assert_close(loss, ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got, i_pred, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(similarity_matrix(z, z_aug, 0.5), omega, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pairwise_logits(z[None], z_aug[None], 0.5)[0], -d / 0.5, atol=1e-4, rtol=1e-4)
    # normalised option: indices in units of the sequence length
    loss_n, _ = alignment_loss(z, z_aug, gt, temperature=0.5, normalize=True)
    torch.testing.assert_close(loss_n, ref / 36.0, atol=1e-5, rtol=1e-4)


def test_i_pred_range_and_masks():
    torch.manual_seed(2)
    b, m, n, p = 3, 9, 7, 8
    z, z_aug = torch.randn(b, m, p) * 5, torch.randn(b, n, p) * 5
    lengths = [9, 5, 2]
    mask = lengths_mask(lengths, m)
    mask_aug = lengths_mask([7, 6, 3], n)
    gt = torch.randint(0, 2, (b, n))
    loss, i_pred = alignment_loss(z, z_aug, gt, mask, mask_aug)
    assert torch.isfinite(loss)
    for k, length in enumerate(lengths):
        assert (i_pred[k][mask_aug[k]] >= 0).all() and (i_pred[k][mask_aug[k]] <= length - 1 + 1e-5).all()
    assert (i_pred[~mask_aug] == 0).all()
    omega = similarity_matrix(z, z_aug, mask=mask)
    torch.testing.assert_close(omega.sum(1), torch.ones(b, n))
    assert (omega[~mask] == 0).all()

    # masked frames do not affect the loss: change padded z, z_aug and gt
    z2, z_aug2, gt2 = z.clone(), z_aug.clone(), gt.clone()
    z2[~mask] = torch.randn(int((~mask).sum()), p) * 100
    z_aug2[~mask_aug] = torch.randn(int((~mask_aug).sum()), p) * 100
    gt2[~mask_aug] = 1000
    loss2, i_pred2 = alignment_loss(z2, z_aug2, gt2, mask, mask_aug)
    torch.testing.assert_close(loss2, loss)
    torch.testing.assert_close(i_pred2, i_pred)

    # per-pair mean = the mean of each pair computed alone
    alone = [
        alignment_loss(z[k, :lengths[k]], z_aug[k, : int(mask_aug[k].sum())], gt[k, : int(mask_aug[k].sum())])[0]
        for k in range(b)
    ]
    torch.testing.assert_close(loss, torch.stack(alone).mean())
    # frame reduction: one mean over every real j
    loss_f, _ = alignment_loss(z, z_aug, gt, mask, mask_aug, reduction="frame")
    counts = mask_aug.sum(1).float()
    torch.testing.assert_close(loss_f, (torch.stack(alone) * counts).sum() / counts.sum())

    # gradients do not reach padded frames
    zg = z.clone().requires_grad_(True)
    alignment_loss(zg, z_aug, gt, mask, mask_aug)[0].backward()
    assert (zg.grad[~mask] == 0).all() and zg.grad[mask].abs().sum() > 0


def test_sinusoidal_encodings_are_distinct():
    enc = sinusoidal_encoding_2d(3, 16)
    assert enc.shape == (9, 16)
    assert torch.cdist(enc, enc).add(torch.eye(9) * 10).min() > 0.1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("kind", ["la2ds", "coords"])
def test_gpu_matches_cpu_and_trains_under_bf16_autocast(kind):
    cfg = tiny(model=kind, dropout=0.0)
    torch.manual_seed(0)
    model = AlignmentNet(cfg).eval()
    x1, x2 = inputs(cfg, 2, 12, seed=1), inputs(cfg, 2, 9, seed=2)
    m1, m2 = lengths_mask([12, 7], 12), lengths_mask([9, 9], 9)
    with torch.no_grad():
        cpu = model(x1, m1, x2, m2)
        gpu = model.cuda()(x1.cuda(), m1.cuda(), x2.cuda(), m2.cuda())
    for a, b in zip(cpu, gpu):
        assert torch.allclose(a, b.cpu(), atol=1e-4)
    model.train()
    gt = torch.arange(9).expand(2, 9).cuda().clamp(max=6)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        z1, z2 = model(x1.cuda(), m1.cuda(), x2.cuda(), m2.cuda())
    loss, _ = alignment_loss(z1, z2, gt, m1.cuda(), m2.cuda(), cfg.temperature)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
